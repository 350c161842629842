"""GAN benchmarks: 2-D training steps per second, a live view tick, page reruns, digit sampling.

    python -m benchmarks.bench_gan [--quick]
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

from dl_core import dcgan, gan2d, gan2d_view  # noqa: E402
from dl_core.recipes import gan as recipe  # noqa: E402


def pct(times: list[float]) -> tuple[float, float]:
    return float(np.percentile(times, 50) * 1e3), float(np.percentile(times, 95) * 1e3)


def _steps_per_second(n: int) -> float:
    lab, hyper = gan2d.Lab(gan2d.GAN2DConfig()), gan2d.Hyper()
    for _ in range(20):
        gan2d.train_step(lab, hyper)
    t0 = time.perf_counter()
    for _ in range(n):
        gan2d.train_step(lab, hyper)
    return n / (time.perf_counter() - t0)


def tick_times(n: int) -> list[float]:
    """One live refresh: STEPS_PER_TICK steps, the view, and the chart data of the plane and three charts."""
    from ui import gan_charts, gan_lab

    lab, hyper = gan2d.Lab(gan2d.GAN2DConfig()), gan2d.Hyper()
    hist = {k: list(np.random.rand(2000)) for k in ("step", "a", "b")}
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        for _ in range(gan_lab.STEPS_PER_TICK):
            gan2d.train_step(lab, hyper)
        v = gan2d_view.view(lab, hyper.loss)
        gan_charts.plane(v)
        for _ in range(3):
            gan_charts.series(hist["step"], {"a": hist["a"], "b": hist["b"]})
        times.append(time.perf_counter() - t0)
    return times


def page_reruns(n: int) -> tuple[list[float], list[float]]:
    from streamlit.testing.v1 import AppTest

    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/gan.py")
    at.run()
    at.button(key="gan2d_play").click().run()
    playing = []
    for _ in range(n):
        t0 = time.perf_counter()
        at.run()
        playing.append(time.perf_counter() - t0)
    at.button(key="gan2d_play").click().run()
    seeds = []
    for seed in range(100, 100 + n):
        t0 = time.perf_counter()
        at.number_input(key="gan_seed").set_value(seed).run()
        seeds.append(time.perf_counter() - t0)
    if at.exception:
        raise RuntimeError(f"GAN page raised: {at.exception}")
    return playing, seeds


def sampling_times(n: int) -> list[float]:
    g = dcgan.load(ROOT / "assets" / f"{recipe.NAME}.pt", torch.device("cpu"))
    times = []
    for seed in range(n + 3):
        t0 = time.perf_counter()
        dcgan.to_pixels(dcgan.sample(g, 64, seed, torch.device("cpu")))
        times.append(time.perf_counter() - t0)
    return times[3:]


def with_threads(threads: int, fn, *args):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return fn(*args)
    finally:
        torch.set_num_threads(before)


def rows(quick: bool) -> list[tuple[str, str, str]]:
    from ui import gan_lab

    default = torch.get_num_threads()
    settings = sorted({1, default})
    label = lambda t: f"{t} torch thread{'s' if t > 1 else ''}"  # noqa: E731
    sps = {t: with_threads(t, _steps_per_second, 300 if quick else 1000) for t in settings}
    ticks = {t: pct(with_threads(t, tick_times, 10 if quick else 30)) for t in settings}
    samples = {t: pct(with_threads(t, sampling_times, 20 if quick else 100)) for t in settings}
    playing, seeds = page_reruns(5 if quick else 15)
    pp, ps = pct(playing), pct(seeds)
    out = [("GAN 2-D: training steps per second (ring, G/D 2x64, batch 128, no view)",
            ", ".join(f"{v:.0f} steps/s ({label(t)})" for t, v in sps.items()), ">= 30 steps/s")]
    for t, (p50, p95) in ticks.items():
        rate = gan_lab.STEPS_PER_TICK / max(gan_lab.TICK_S, p50 / 1e3)
        out.append((f"GAN 2-D: one live tick ({gan_lab.STEPS_PER_TICK} steps + view + chart data, {label(t)}) p50/p95",
                    f"{p50:.0f} / {p95:.0f} ms = {rate:.0f} steps/s at {1 / max(gan_lab.TICK_S, p50 / 1e3):.1f} refreshes/s",
                    f">= 30 steps/s with a refresh every {gan_lab.TICK_S} s"))
    out += [(f"GAN page rerun while playing (AppTest, {gan_lab.STEPS_PER_TICK} steps per run) p50/p95", f"{pp[0]:.0f} / {pp[1]:.0f} ms", "<= 250 ms"),
            ("GAN page rerun, new digit seed (AppTest) p50/p95", f"{ps[0]:.0f} / {ps[1]:.0f} ms", "<= 200 ms")]
    out += [(f"Digit GAN: sample 64 digits (shipped G, CPU, {label(t)}) p50/p95", f"{p50:.1f} / {p95:.1f} ms", "<= 50 ms")
            for t, (p50, p95) in samples.items()]
    return out


if __name__ == "__main__":
    for name, value, target in rows("--quick" in sys.argv):
        sys.stdout.write(f"| {name} | {value} | {target} |\n")
