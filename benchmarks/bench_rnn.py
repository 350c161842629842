"""RNN page benchmarks: page reruns with a 100-step input (AppTest), the model work behind them, the race.

    python -m benchmarks.bench_rnn [--quick]

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

from dl_core import rnn, rnn_tasks  # noqa: E402
from dl_core.rnn_train import race_steps  # noqa: E402

CPU = torch.device("cpu")


def p50_p95(times_s: list[float], cpu_s: list[float] | None = None) -> str:
    text = f"{np.percentile(times_s, 50) * 1e3:.0f} / {np.percentile(times_s, 95) * 1e3:.0f} ms"
    if cpu_s:  # CPU time of this process: what the rerun costs, whatever else the machine is doing
        text += f" (CPU {np.percentile(cpu_s, 50) * 1e3:.0f} / {np.percentile(cpu_s, 95) * 1e3:.0f} ms)"
    return text


def timed(fn) -> tuple[float, float]:
    """(wall, process CPU) seconds of one call."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def inputs(n: int, seed: int = 123) -> list[str]:
    """n different 100-character bracket streams, generated like the training data."""
    symbols = rnn_tasks.TASKS["brackets"].symbols
    b = rnn_tasks.brackets(torch.Generator().manual_seed(seed), n, 100)
    return ["".join(symbols[k] for k in row.tolist()) for row in b.x]


def page_reruns(script: str, switch: bool, n: int, seed: int) -> tuple[list, list]:
    """(new-input reruns, same-input reruns) as (wall, CPU) seconds; the first inputs warm the chart specs."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / script), default_timeout=120)
    if switch:
        at.switch_page("pages/rnn.py")
    at.run()
    texts = inputs(n + 2, seed)  # a fresh seed per call: the analyses are cached process-wide
    for text in texts[:2]:  # warm-up: the cached chart specs for 100-step inputs
        at.text_input(key="rnn_text_brackets").set_value(text).run()
    new = [timed(lambda text=text: at.text_input(key="rnn_text_brackets").set_value(text).run()) for text in texts[2:]]
    same = [timed(at.run) for _ in range(n)]
    if at.exception or not at.metric:
        raise RuntimeError(f"RNN page failed: {[e.value for e in at.exception]}")
    return new, same


def model_work(n: int) -> list[tuple[str, str, str]]:
    threads = torch.get_num_threads()
    lstm = rnn.load(ROOT / "assets" / "rnn_brackets_lstm.pt", CPU)
    x = torch.tensor([rnn_tasks.encode(rnn_tasks.TASKS["brackets"], inputs(1)[0]).ids])
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        with torch.no_grad():
            lstm(x)
        times.append(time.perf_counter() - t0)
    rows = [(f"LSTM forward, 100 steps, every gate kept, {threads} torch thread(s) (p50 / p95)", p50_p95(times), "")]
    b = rnn_tasks.remember(torch.Generator().manual_seed(0), 64, 58)
    t0 = time.perf_counter()
    for cell in ("rnn", "gru", "lstm"):
        m = rnn.load(ROOT / "assets" / f"rnn_remember_{cell}.pt", CPU)
        rnn.input_gradients(m, m.features(b.x), b.y[:, -1])
    rows.append((f"Gradient norms, 3 models x 64 sequences x 60 steps (a cache miss), {threads} thread(s)",
                 f"{(time.perf_counter() - t0) * 1e3:.0f} ms", ""))
    steps = 20 if n < 20 else 60
    t0 = time.perf_counter()
    for _ in race_steps(30, steps=steps, eval_every=steps):
        pass
    speed = steps / (time.perf_counter() - t0)
    rows.append((f"Race, distance 30: 3 models x {steps} steps, {threads} thread(s)", f"{speed:.1f} steps/s",
                 ">= 5 steps/s (600 steps in the 120 s limit)"))
    return rows


def rows(quick: bool) -> list[tuple[str, str, str]]:
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    n = 8 if quick else 20
    new, same = page_reruns("pages/rnn.py", False, n, 123)
    out = [("RNN page rerun, new 100-step input (AppTest of the page) p50/p95", p50_p95(*zip(*new)), "<= 200 ms"),
           ("RNN page rerun, same input (AppTest of the page) p50/p95", p50_p95(*zip(*same)), "<= 200 ms")]
    new, same = page_reruns("app.py", True, n, 456)
    # Via app.py, AppTest resets PagesManager.uses_pages_directory on every run, so ui.common.page_start's
    # st.rerun() fires every time: each at.run() executes the page twice. Reported for comparison.
    out.append(("RNN page rerun, new 100-step input (AppTest via app.py, page runs twice) p50/p95",
                p50_p95(*zip(*new)), "<= 200 ms"))
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # what the page and the race job use (ui.rnn_models.one_thread)
    try:
        out += model_work(n)
    finally:
        torch.set_num_threads(before)
    if not quick and before != 1:  # for comparison: the process default (slow on a busy machine)
        out += model_work(n)
    return out


if __name__ == "__main__":
    for name, value, target in rows("--quick" in sys.argv):
        sys.stdout.write(f"| {name} | {value} | {target} |\n")
