"""Glue shared by the DQN and TD3 tabs: agent-loop diagrams, curves, heatmaps, rendered episodes, worker jobs."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import streamlit as st

from dl_core import rl_env
from dl_core.recipes import rl as recipe
from ui import charts, jobs, workers
from ui.common import set_state

ASSETS = Path(__file__).resolve().parent.parent / "assets"
LIT, DIM, OFF = "#f6c344", "#e8eef6", "#f2f2f2"  # a part that ran, one that did not, one that is switched off


def diagram(nodes: list[tuple[str, str]], edges: list[tuple[str, str, str]], lit: set, off: set = frozenset()) -> str:
    """Graphviz DOT of an agent loop; the parts in ``lit`` are filled yellow, those in ``off`` dashed gray."""
    lines = ['digraph { rankdir=LR; bgcolor="transparent"; node [shape=box style="rounded,filled" '
             'fontname="Helvetica" fontsize=11]; edge [fontname="Helvetica" fontsize=9 color="#777777"];']
    for key, label in nodes:
        style = ('fillcolor="%s" style="rounded,dashed,filled" fontcolor="#999999"' % OFF if key in off
                 else 'fillcolor="%s" penwidth=%s' % (LIT if key in lit else DIM, 2 if key in lit else 1))
        lines.append(f'{key} [label="{label}" {style}];')
    for a, b, label in edges:
        lines.append(f'{a} -> {b} [label="{label}"];')
    return "\n".join(lines) + "}"


def moving_average(x: np.ndarray, n: int = 20) -> np.ndarray:
    """Mean of the last n values at every position (fewer at the start)."""
    x = np.asarray(x, float)
    c = np.cumsum(np.insert(x, 0, 0.0))
    i = np.arange(1, len(x) + 1)
    lo = np.maximum(i - n, 0)
    return (c[i] - c[lo]) / (i - lo)


@functools.lru_cache(maxsize=8)
def _lines_spec(title: str, y_title: str, height: int, domain: tuple | None) -> dict:
    y = {"field": "value", "type": "quantitative", "title": y_title,
         "scale": {"domain": list(domain)} if domain else {"zero": False}}
    return {"title": title, "height": height, "mark": {"type": "line", "point": False, "clip": True},
            "encoding": {"x": {"field": "step", "type": "quantitative", "title": "environment step"}, "y": y,
                         "color": {"field": "series", "type": "nominal", "sort": None,
                                   "legend": {"orient": "bottom", "title": None, "columns": 2}},
                         "opacity": {"condition": {"test": "datum.series == 'episode return'", "value": 0.35},
                                     "value": 1.0},
                         "tooltip": [{"field": "series"}, {"field": "step", "type": "quantitative"},
                                     {"field": "value", "type": "quantitative", "format": ".1f"}]}}


def returns_chart(episodes: np.ndarray, evals: np.ndarray, domain: tuple | None, height: int = 320) -> charts.VL:
    """Episode returns, their 20-episode moving average and the greedy evaluations, over steps."""
    parts = []
    if len(episodes):
        parts += [pd.DataFrame({"step": episodes[:, 0], "value": episodes[:, 1], "series": "episode return"}),
                  pd.DataFrame({"step": episodes[:, 0], "value": moving_average(episodes[:, 1]),
                                "series": "20-episode average"})]
    if len(evals):
        parts.append(pd.DataFrame({"step": evals[:, 0], "value": evals[:, 1], "series": "greedy evaluation"}))
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"step": [], "value": [], "series": []})
    return charts.VL(df, _lines_spec("Return per episode", "return", height, domain))


def stat_chart(step: np.ndarray, value: np.ndarray, title: str, height: int = 230) -> charts.VL:
    ok = np.isfinite(value)
    return charts.line_vl(pd.DataFrame({"step": step[ok], title: value[ok]}), "step", title, title, height)


@functools.lru_cache(maxsize=8)
def _heat_spec(title: str, x_title: str, y_title: str, value: str, scheme: str, domain: tuple) -> dict:
    return {"title": title, "width": 260, "height": 300, "mark": {"type": "rect"},
            "encoding": {"x": {"field": "x0", "type": "quantitative", "title": x_title},
                         "x2": {"field": "x1"},
                         "y": {"field": "y0", "type": "quantitative", "title": y_title},
                         "y2": {"field": "y1"},
                         "color": {"field": "v", "type": "quantitative", "title": value,
                                   "scale": {"scheme": scheme, "domain": list(domain)}},
                         "tooltip": [{"field": "x", "type": "quantitative", "format": ".2f", "title": x_title},
                                     {"field": "y", "type": "quantitative", "format": ".2f", "title": y_title},
                                     {"field": "v", "type": "quantitative", "format": ".3f", "title": value}]},
            "config": {"view": {"strokeWidth": 0}}}


def heat_chart(xs: np.ndarray, ys: np.ndarray, values: np.ndarray, title: str, x_title: str, y_title: str,
               value: str, scheme: str = "redblue", domain: tuple | None = None) -> charts.VL:
    """values (len(ys), len(xs)) over a regular grid, with real axes."""
    dx, dy = (xs[1] - xs[0]) / 2, (ys[1] - ys[0]) / 2
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    df = pd.DataFrame({"x": xx.ravel(), "y": yy.ravel(), "x0": xx.ravel() - dx, "x1": xx.ravel() + dx,
                       "y0": yy.ravel() - dy, "y1": yy.ravel() + dy, "v": values.ravel().astype(float)})
    if domain is None:
        m = float(np.abs(values).max()) or 1.0
        domain = (-m, m) if scheme == "redblue" else (float(values.min()), float(values.max()))
    spec = _heat_spec(title, x_title, y_title, value, scheme, tuple(float(d) for d in domain))
    if scheme == "redblue":
        spec = {**spec, "encoding": {**spec["encoding"], "color": {**spec["encoding"]["color"],
                "scale": {**spec["encoding"]["color"]["scale"], "reverse": True}}}}
    return charts.VL(df, spec)


@st.cache_resource(show_spinner=False)
def shipped_history(name: str):
    """(episodes, evals, {step: weights}, stats) of a shipped agent; None when it is missing."""
    path = ASSETS / f"{name}_history.npz"
    return recipe.read_history(path) if path.exists() and (ASSETS / f"{name}.pt").exists() else None


FRAMES = {"CartPole-v1": (4, 12.5), "Pendulum-v1": (2, 10.0)}  # (keep every n-th frame, GIF fps): real time


@st.cache_data(show_spinner="Rendering the episode ...", max_entries=32)
def render_gif(_policy, key: tuple, env_id: str, seed: int) -> tuple[bytes, float, int]:
    """A greedy episode rendered headless (every n-th frame, half size) as GIF bytes, its return and length.
    ``key`` names the weights (agent, checkpoint or a hash of the weights); the policy itself is not hashed."""
    every, fps = FRAMES.get(env_id, (2, 25.0))
    ep = rl_env.render_episode(_policy, env_id, seed, frame_every=every, max_frames=150)
    return rl_env.gif_bytes(rl_env.shrink(ep.frames, 2), fps=fps), ep.ret, ep.length


def episode_player(policy, key: tuple, env_id: str, seed: int, where=None) -> None:
    """A "Render" button; the rendered GIF stays on the page (per session) and can be downloaded.
    Rendering costs seconds of server time, so it runs on request only (and is shared through the cache)."""
    where = where or st
    name = "_".join(map(str, key))
    slot = f"rl_gif_{key[0]}"
    if where.button("Render a greedy episode", key=f"render_{key[0]}"):
        st.session_state[slot] = (key, seed, render_gif(policy, key, env_id, seed))
    shown = st.session_state.get(slot)
    if shown is None or shown[0] != key or shown[1] != seed:
        where.caption("Press the button to render this network's episode (a few seconds) as an animated GIF.")
        return
    gif, ret, length = shown[2]
    where.image(gif, caption=f"Greedy episode, seed {seed}: return {ret:.1f} in {length} steps")
    where.download_button("Download the GIF", gif, file_name=f"{env_id}_{name}_seed{seed}.gif", mime="image/gif",
                          key=f"gif_{key[0]}")


# -- live training in the worker pool --------------------------------------------------------------------
def job_buttons(prefix: str, kind: str, target: str, kwargs: Callable[[], dict], max_seconds: float, cols) -> None:
    """Start / Stop buttons; a click on Start submits ``target(**kwargs())`` to the pool for this session."""
    key = f"{prefix}_job"
    job = workers.pool().get(jobs.session_id(), st.session_state.get(key))
    active = job is not None and job.active
    cols[0].button("Start training", key=f"{prefix}_start", type="primary", disabled=active,
                   on_click=set_state, args=(f"{prefix}_requested",))
    cols[1].button("Stop", key=f"{prefix}_stop", disabled=not active, on_click=_stop, args=(key,))
    if st.session_state.pop(f"{prefix}_requested", False) and not active:
        job, reason = workers.pool().submit(jobs.session_id(), kind, target, kwargs(), max_seconds, workers.liveness())
        if job is None:
            st.warning(reason, icon=":material/hourglass_top:")
        else:
            st.session_state[key] = job
            st.rerun()


def _stop(key: str) -> None:
    job = workers.pool().get(jobs.session_id(), st.session_state.get(key))
    if job is not None:
        workers.pool().stop(job)


def live(prefix: str, draw: Callable[[list], None], empty: str) -> None:
    """The session's job in a fragment that redraws every second while it is queued or running."""
    key = f"{prefix}_job"
    job = workers.pool().get(jobs.session_id(), st.session_state.get(key))
    active = job is not None and job.active

    @st.fragment(run_every=1.0 if active else None)
    def view() -> None:
        j = workers.pool().get(jobs.session_id(), st.session_state.get(key))
        if j is None:
            st.caption(empty)
            return
        (st.error if j.state == "error" else st.info)(workers.status_line(j), icon=":material/model_training:")
        if j.events:
            draw(list(j.events))
        if active and not j.active:
            st.rerun()  # the buttons change

    view()
