"""Diffusion benchmarks: sampling time per step and per 16 samples (DDIM 50, default guidance),
pixel U-Net and latent model, plus the page rerun after moving the forward-process t slider (AppTest).

    python -m benchmarks.bench_diffusion [--quick]

``rows(quick)`` returns (measurement, value, target) rows for ``python -m benchmarks.run``.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dl_core.recipes.diffusion import sampler_for  # noqa: E402

CPU = torch.device("cpu")


def sample_times(name: str, repeats: int, guidance: float) -> tuple[float, float]:
    """(seconds for 16 samples with DDIM 50, wall and process CPU), median over ``repeats``."""
    fn = sampler_for(name, CPU, 50, guidance)
    y = torch.arange(16) % 10
    fn(y[:2], torch.Generator().manual_seed(0))  # warm-up
    walls, cpus = [], []
    for r in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn(y, torch.Generator().manual_seed(r))
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return float(np.median(walls)), float(np.median(cpus))


def page_rerun(n: int) -> list[float]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.switch_page("pages/diffusion.py")
    at.run()
    out = []
    for i in range(n + 2):
        t0 = time.perf_counter()
        at.slider(key="diff_t").set_value(100 + 37 * i).run()
        out.append(time.perf_counter() - t0)
    if at.exception:
        raise RuntimeError(f"page raised: {at.exception}")
    return out[2:]


def rows(quick: bool) -> list[tuple[str, str, str]]:
    torch.set_num_threads(1)  # on a shared 2-core machine a second thread mostly spins
    out = []
    for name, label in (("diffusion_unet", "pixel U-Net"), ("diffusion_latent", "latent")):
        card = json.loads((ROOT / "assets" / f"{name}.json").read_text())
        wall, cpu = sample_times(name, 1 if quick else 3, card.get("default_guidance", 3.0))
        out.append((f"Diffusion {label}: 16 samples, DDIM 50 steps, guidance (wall / CPU)",
                    f"{wall:.2f} / {cpu:.2f} s", "<= 3 s"))
        out.append((f"Diffusion {label}: one sampling step for 16 samples (wall)", f"{wall / 50 * 1e3:.0f} ms", "<= 60 ms"))
        if "judge_accuracy" in card:
            out.append((f"Diffusion {label}: judge CNN agrees with the requested digit",
                        f"{100 * card['judge_accuracy']:.1f}% of {card['judge_samples']}", ">= 95%"))
    times = page_rerun(3 if quick else 10)
    out.append(("Diffusion page rerun, t slider moved (AppTest) p50/p95",
                f"{np.percentile(times, 50) * 1e3:.0f} / {np.percentile(times, 95) * 1e3:.0f} ms", "<= 200 ms"))
    return out


if __name__ == "__main__":
    for row in rows("--quick" in sys.argv):
        sys.stdout.write(" | ".join(row) + "\n")
