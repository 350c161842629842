"""Transformer page benchmarks: page reruns with a 32-token sentence and every head drawn, the trained
model's tabs, and greedy decoding of one input.

    python -m benchmarks.bench_transformer [--quick]
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

from dl_core import transformer as tf  # noqa: E402
from dl_core.seq_tasks import TASK  # noqa: E402

SENTENCE_32 = ("the cat that the dog chased ran up the old tree , and the dog that chased it barked at the "
               "tree until the cat came down again to eat its dinner")
TARGET_MS = 300


def _ms(times: list[float]) -> str:
    return f"{np.percentile(times, 50) * 1e3:.0f} / {np.percentile(times, 95) * 1e3:.0f} ms"


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _check(at) -> None:
    if at.exception:
        raise RuntimeError(f"transformer page raised: {[e.value for e in at.exception]}")


def page_rows(n: int) -> list[tuple[str, str, str]]:
    from streamlit.testing.v1 import AppTest

    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/transformer.py")
    cold = _timed(at.run)
    _check(at)
    at.text_input(key="tf_text").input(SENTENCE_32)
    at.select_slider(key="tf_d").set_value(32)
    at.select_slider(key="tf_heads").set_value(4)
    miss = _timed(at.run)
    _check(at)
    tokens = len(at.table[0].value)
    if tokens != 32:
        raise RuntimeError(f"expected 32 tokens, the page used {tokens}")
    same = [_timed(at.run) for _ in range(n)]
    heads = [_timed(lambda h=h: at.button_group(key="tf_head").set_value(h).run()) for h in [2, 3, 4, 1] * (n // 4 + 1)][:n]
    masks = [_timed(lambda m=m: at.button_group(key="tf_mask").set_value(m).run()) for m in
             ["causal", "padding", "no mask"] * (n // 3 + 1)][:n]
    _check(at)
    rows = [
        ("Transformer page, cold run (AppTest)", f"{cold * 1e3:.0f} ms", ""),
        ("Transformer page, new 32-token sentence, 4 heads drawn (cache miss)", f"{miss * 1e3:.0f} ms",
         f"<= {TARGET_MS} ms"),
        ("Transformer page rerun, 32-token input, all 4 heads drawn, same input (AppTest) p50/p95", _ms(same),
         f"<= {TARGET_MS} ms"),
        ("Transformer page rerun, 32 tokens, switch head (AppTest) p50/p95", _ms(heads), f"<= {TARGET_MS} ms"),
        ("Transformer page rerun, 32 tokens, switch mask (AppTest) p50/p95", _ms(masks), f"<= {TARGET_MS} ms"),
    ]
    at.session_state["tf_tab"] = "Trained model: all heads"
    at.run()
    digits = ["31415926535897", "27182818284590", "16180339887498", "14142135623730"]
    times = [_timed(lambda d=d: at.text_input(key="tf_digits_view").input(d).run()) for d in digits]
    _check(at)
    rows.append(("Transformer page, model view tab, new 14-digit input (3 grids of 2x4 heads) p50/p95",
                 _ms(times), f"<= {TARGET_MS} ms"))
    at.session_state["tf_tab"] = "Decoding step by step"
    at.run()
    steps = [_timed(lambda s=s: at.slider(key="tf_dec_step_15").set_value(s).run()) for s in range(1, 16)][:n]
    _check(at)
    rows.append(("Transformer page, decoding tab, move the step slider p50/p95", _ms(steps), f"<= {TARGET_MS} ms"))
    return rows


def decode_rows(n: int) -> list[tuple[str, str, str]]:
    """Greedy decoding with torch's default threads, and with one thread (tiny models: often faster)."""
    model = tf.load(ROOT / "assets" / "transformer.pt", torch.device("cpu"))
    src = TASK.encode_source("3141592653589793")
    batch = TASK.batch(TASK.sample(500, torch.Generator().manual_seed(0), "test")).src
    rows, default = [], torch.get_num_threads()
    for threads in dict.fromkeys([default, 1]):
        torch.set_num_threads(threads)
        times = [_timed(lambda: list(tf.greedy_steps(model, src, TASK.max_len + 2))) for _ in range(n)]
        t_batch = _timed(lambda: tf.greedy_batch(model, batch, TASK.max_len + 2))
        rows += [(f"Transformer greedy decoding, one 16-digit input, step by step, {threads} thread(s) p50/p95",
                  _ms(times), ""),
                 (f"Transformer greedy decoding, batch of 500 held-out inputs, {threads} thread(s)",
                  f"{t_batch * 1e3:.0f} ms", "")]
    torch.set_num_threads(default)
    return rows


def rows(quick: bool) -> list[tuple[str, str, str]]:
    n = 8 if quick else 24
    return decode_rows(n) + page_rows(n)


if __name__ == "__main__":
    for r in rows("--quick" in sys.argv):
        sys.stdout.write(" | ".join(r) + "\n")
