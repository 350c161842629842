"""Encoder-decoder page benchmarks: decoding time per input, beam search, page reruns (AppTest).

    python -m benchmarks.bench_seq2seq [--quick]

``rows(quick)`` returns (measurement, value, target) rows for ``python -m benchmarks.run``.
"""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dl_core import seq2seq as s2s  # noqa: E402
from dl_core.seq_tasks import TASK  # noqa: E402

CPU = torch.device("cpu")


def p50_p95(times_s: list[float]) -> str:
    return f"{np.percentile(times_s, 50) * 1e3:.1f} / {np.percentile(times_s, 95) * 1e3:.1f} ms"


def inputs(n: int, length: int = 16) -> list[str]:
    return [s for s, _ in TASK.sample(n, torch.Generator().manual_seed(42), split="test", length=length)]


def decoding(n: int) -> list[tuple[str, str, str]]:
    rows = []
    texts = inputs(n)
    for variant in ("plain", "attention"):
        model = s2s.load(ROOT / "assets" / f"seq2seq_{variant}.pt", CPU)
        greedy, beam = [], []
        for text in texts:
            src = TASK.encode_source(text)
            t0 = time.perf_counter()
            list(s2s.decode_steps(model, src, TASK.max_len + 2))
            greedy.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            s2s.beam_search(model, src, 4, TASK.max_len + 2, show=1)
            beam.append(time.perf_counter() - t0)
        rows.append((f"Greedy step-by-step decoding, 16-digit input, {variant} (p50 / p95)", p50_p95(greedy), ""))
        rows.append((f"Beam search k=4, 16-digit input, {variant} (p50 / p95)", p50_p95(beam), ""))
        batch = TASK.batch(TASK.sample(1400, torch.Generator().manual_seed(1), split="test"), CPU)
        t0 = time.perf_counter()
        s2s.greedy_batch(model, batch.src, TASK.max_len + 2)
        rows.append((f"Batched greedy decoding of 1,400 inputs, {variant} (the bottleneck chart's cache miss)",
                     f"{(time.perf_counter() - t0) * 1e3:.0f} ms", ""))
    return rows


def page_reruns(n: int, script: str = "app.py") -> list[tuple[str, str, str]]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / script), default_timeout=300)
    if script == "app.py":
        at.switch_page("pages/seq2seq.py")
    at.run()
    texts = inputs(n + 2, 12)
    for text in texts[:2]:  # warm-up
        at.text_input(key="s2s_text").set_value(text).run()
    new = []
    for text in texts[2:]:
        t0 = time.perf_counter()
        at.text_input(key="s2s_text").set_value(text).run()
        new.append(time.perf_counter() - t0)
    step = []
    for i in range(n):
        t0 = time.perf_counter()
        at.slider(key="s2s_step").set_value(1 + i % 12).run()
        step.append(time.perf_counter() - t0)
    same = []
    for _ in range(n):
        t0 = time.perf_counter()
        at.run()
        same.append(time.perf_counter() - t0)
    if at.exception:
        raise RuntimeError(f"seq2seq page failed: {[e.value for e in at.exception]}")
    how = f"AppTest of {script}"
    return [(f"Encoder-decoder page rerun, new 12-digit input ({how}) p50/p95", p50_p95(new), "<= 200 ms"),
            (f"Encoder-decoder page rerun, step slider moved ({how}) p50/p95", p50_p95(step), "<= 200 ms"),
            (f"Encoder-decoder page rerun, same input ({how}) p50/p95", p50_p95(same), "<= 200 ms")]


def rows(quick: bool) -> list[tuple[str, str, str]]:
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    n = 8 if quick else 20
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # what the app runs with (ui.common.device, DLV_TORCH_THREADS=1)
    try:
        return decoding(n) + page_reruns(n, "app.py")  # the page links to another: it needs app.py's navigation
    finally:
        torch.set_num_threads(before)


if __name__ == "__main__":
    for name, value, target in rows("--quick" in sys.argv):
        sys.stdout.write(f"| {name} | {value} | {target} |\n")
