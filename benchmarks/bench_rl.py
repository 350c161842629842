"""RL benchmarks: DQN / TD3 environment steps per second, the live presets over 5 seeds, page reruns.

    python -m benchmarks.bench_rl [--quick]      # steps/s and page reruns (rows for benchmarks.run)
    python -m benchmarks.bench_rl --seeds        # the 5-seed table of the "Train your own" presets
"""
from __future__ import annotations

import logging
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dl_core import dqn, td3  # noqa: E402
from dl_core.recipes import rl as recipe  # noqa: E402

SEEDS = (1, 2, 3, 4, 5)


def pct(times: list[float]) -> tuple[float, float]:
    return float(np.percentile(times, 50) * 1e3), float(np.percentile(times, 95) * 1e3)


def time_to_goal(gen, goal: float) -> dict:
    """Consume a training generator; wall and CPU seconds until the first greedy evaluation >= goal."""
    c0 = time.process_time()
    out = {"reached": False, "wall_s": None, "cpu_s": None, "best": None, "steps": None}
    for ev in gen:
        out["best"], out["steps"] = ev.best, ev.step
        if ev.eval_return is not None and ev.eval_return >= goal and not out["reached"]:
            out.update(reached=True, wall_s=ev.seconds, cpu_s=time.process_time() - c0, at_step=ev.step)
            gen.close()
            break
    out.setdefault("cpu_total_s", time.process_time() - c0)
    return out


PRESETS = {"dqn": ("DQN CartPole-v1", dqn.train, recipe.LIVE_DQN), "td3": ("TD3 Pendulum-v1", td3.train, recipe.LIVE_TD3)}


def one_seed(which: str, seed: int) -> dict:
    """One run of a live preset (``--seed-one dqn 3``; run several at once with xargs -P)."""
    torch.set_num_threads(1)
    name, make, cfg = PRESETS[which]
    return {"preset": name, "seed": seed, **time_to_goal(make(replace(cfg, seed=seed, max_seconds=None)),
                                                          recipe.LIVE_GOAL[cfg.env_id])}


def preset_seeds() -> list[tuple[str, str, str]]:
    torch.set_num_threads(1)
    rows = []
    for name, make, cfg in (("DQN CartPole-v1", dqn.train, recipe.LIVE_DQN), ("TD3 Pendulum-v1", td3.train, recipe.LIVE_TD3)):
        goal = recipe.LIVE_GOAL[cfg.env_id]
        res = []
        for s in SEEDS:
            r = time_to_goal(make(replace(cfg, seed=s, max_seconds=None)), goal)
            res.append(r)
            sys.stderr.write(f"{name} seed {s}: {r}\n")
            cell = (f"{r['cpu_s']:.0f} s CPU ({r['wall_s']:.0f} s wall, step {r['at_step']:,})" if r["reached"]
                    else f"not reached in {r['steps']:,} steps (best {r['best']:.0f})")
            rows.append((f"{name}, seed {s}: greedy evaluation >= {goal:g}", cell, "<= 90 s CPU"))
        cpu = sorted(r["cpu_s"] if r["reached"] else float("inf") for r in res)
        rows.append((f"{name}: median over 5 seeds", f"{cpu[2]:.0f} s CPU", "<= 90 s CPU"))
    return rows


def steps_per_second(n: int) -> tuple[float, float]:
    torch.set_num_threads(1)
    out = []
    for make, cfg in ((dqn.train, dqn.DQNConfig(total_steps=n, learning_starts=200, eval_every=10**9, stop_at=None)),
                      (td3.train, td3.TD3Config(total_steps=n, learning_starts=200, eval_every=10**9))):
        evs = list(make(cfg, report_every=n))
        out.append(n / evs[-1].seconds)
    return out[0], out[1]


def page_reruns(n: int) -> list[float]:
    from streamlit.testing.v1 import AppTest

    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/rl.py")
    at.run()
    times = []
    for k in range(n):
        t0 = time.perf_counter()
        at.slider(key="rl_gamma").set_value(0.8 + 0.01 * (k % 15)).run()
        times.append(time.perf_counter() - t0)
    if at.exception:
        raise RuntimeError(f"RL page raised: {at.exception}")
    return times


def rows(quick: bool) -> list[tuple[str, str, str]]:
    d, t = steps_per_second(1500 if quick else 4000)
    p50, p95 = pct(page_reruns(5 if quick else 20))
    return [("RL: DQN training, CartPole env steps/s (1 gradient step each, 1 thread)", f"{d:.0f} steps/s", ""),
            ("RL: TD3 training, Pendulum env steps/s (twin critics, 1 thread)", f"{t:.0f} steps/s", ""),
            ("RL page rerun, GridWorld tab, new gamma (value iteration to convergence) p50/p95",
             f"{p50:.0f} / {p95:.0f} ms", "<= 200 ms")]


if __name__ == "__main__":
    if "--seed-one" in sys.argv:
        i = sys.argv.index("--seed-one")
        sys.stdout.write(__import__("json").dumps(one_seed(sys.argv[i + 1], int(sys.argv[i + 2]))) + "\n")
        sys.exit(0)
    for name, value, target in (preset_seeds() if "--seeds" in sys.argv else rows("--quick" in sys.argv)):
        sys.stdout.write(f"| {name} | {value} | {target} |\n")
