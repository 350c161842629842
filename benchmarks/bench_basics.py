"""PyTorch basics page benchmarks: rerun time of every tab at default settings (AppTest), a changed input,
a live playground tick, and the raw playground training speed.

    python -m benchmarks.bench_basics [--quick]

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

from dl_core import playground as P  # noqa: E402

TABS = ["Tensors", "Autograd", "nn.Module", "Losses & optimizers", "Playground"]
TARGET = "<= 200 ms"
# one widget per tab and two values to alternate between: each change is a real rerun with new input
CHANGES = {
    "Tensors": ("text_input", "basics_t_values", ["[[1, 2], [3, 4]]", "[[5, 6, 7], [8, 9, 10]]"]),
    "Autograd": ("number_input", "basics_var_x", [1.5, 2.0]),
    "nn.Module": ("number_input", "basics_mod_seed", [1, 2]),
    "Losses & optimizers": ("slider", "basics_opt_steps", [200, 250]),
    "Playground": ("select_slider", "basics_pg_noise", [0.15, 0.2]),
}


def p50_p95(times_s: list[float]) -> str:
    return f"{np.percentile(times_s, 50) * 1e3:.0f} / {np.percentile(times_s, 95) * 1e3:.0f} ms"


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def page_rows(n: int) -> list[tuple[str, str, str]]:
    from streamlit.testing.v1 import AppTest

    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    rows = []
    for tab in TABS:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.switch_page("pages/basics.py")
        at.session_state["basics_tab"] = tab
        cold = timed(at.run)
        if at.exception:
            raise RuntimeError(f"{tab} tab raised: {[e.value for e in at.exception]}")
        same = [timed(at.run) for _ in range(n)]
        kind, key, values = CHANGES[tab]
        changed = []
        for i in range(n):
            widget = getattr(at, kind)(key=key).set_value(values[i % 2])
            changed.append(timed(widget.run))
        if at.exception:
            raise RuntimeError(f"{tab} tab raised: {[e.value for e in at.exception]}")
        rows.append((f"Basics page, {tab} tab: first visit", f"{cold * 1e3:.0f} ms", ""))
        rows.append((f"Basics page, {tab} tab: rerun at default settings (AppTest) p50 / p95", p50_p95(same), TARGET))
        rows.append((f"Basics page, {tab} tab: rerun after changing {key} p50 / p95", p50_p95(changed), TARGET))
    return rows


def playground_rows(n: int) -> list[tuple[str, str, str]]:
    """A Play click (a full rerun that also runs one live tick: 25 steps and the redraw), and raw training."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/basics.py")
    at.session_state["basics_tab"] = "Playground"
    at.run()
    ticks = []
    for _ in range(n):
        ticks.append(timed(at.button(key="basics_btn_pg_play").click().run))  # play: one tick runs
        at.button(key="basics_btn_pg_play").click().run()  # pause
    rows = [("Playground: Play click = full rerun + one live tick (25 steps) p50 / p95", p50_p95(ticks), "")]
    cfg = P.PlaygroundConfig()
    for threads in sorted({1, torch.get_num_threads()}):
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            data, model = P.make_data(cfg), P.build_model(cfg)
            steps = 300 if n < 10 else 1000
            t0 = time.perf_counter()
            for _ in P.train_steps(cfg, model, data, steps, eval_every=steps):
                pass
            per = (time.perf_counter() - t0) / steps * 1e3
        finally:
            torch.set_num_threads(before)
        rows.append((f"Playground training step, default setup, {threads} torch thread(s)", f"{per:.2f} ms/step", ""))
    return rows


def rows(quick: bool) -> list[tuple[str, str, str]]:
    n = 5 if quick else 15
    return page_rows(n) + playground_rows(3 if quick else 8)


if __name__ == "__main__":
    t0 = time.perf_counter()
    out = rows("--quick" in sys.argv)
    print("| Measurement | Value | Target |\n|---|---|---|")
    for r in out:
        print(f"| {r[0]} | {r[1]} | {r[2]} |")
    print(f"\n({time.perf_counter() - t0:.0f} s, torch {torch.__version__}, {torch.get_num_threads()} threads)")
