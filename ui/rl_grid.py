"""The GridWorld tab: click cells to edit the world, watch value iteration or Q-learning settle live."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dl_core import gridworld as gw
from ui.common import set_state

PICK = {"inspect": None, "wall": gw.WALL, "reward +1": gw.GOAL, "reward -1": gw.PIT, "start": gw.START, "empty": gw.EMPTY}
CELL = 52  # px per cell
EPISODES_PER_TICK = 5  # Q-learning episodes per "play" refresh
TICK_S = 0.5


def _spec(h: int, w: int) -> dict:
    enc = {"x": {"field": "c", "type": "ordinal", "axis": None}, "y": {"field": "r", "type": "ordinal", "axis": None}}
    return {
        "width": w * CELL, "height": h * CELL, "layer": [
            {"params": [{"name": "cell", "select": {"type": "point", "fields": ["r", "c"]}}], "mark": {"type": "rect", "stroke": "white", "strokeWidth": 2, "cursor": "pointer"},
             "encoding": {**enc, "color": {"condition": {"test": "datum.kind == 'wall'", "value": "#4a4a4a"},
                                           "field": "v", "type": "quantitative", "title": "V(s)",
                                           "scale": {"scheme": "redblue", "reverse": True, "domain": [-1, 1]}},
                          "tooltip": [{"field": "kind"}, {"field": "r", "title": "row"}, {"field": "c", "title": "col"},
                                      {"field": "v", "format": ".3f", "title": "V(s)"}]}},
            {"mark": {"type": "text", "fontSize": 22, "dy": -6}, "encoding": {**enc, "text": {"field": "arrow"}}},
            {"mark": {"type": "text", "fontSize": 10, "dy": 15}, "encoding": {**enc, "text": {"field": "label"}}},
            {"mark": {"type": "rect", "fillOpacity": 0, "stroke": "#f6a800", "strokeWidth": 4},
             "transform": [{"filter": "datum.chosen"}], "encoding": enc},
        ],
        "config": {"view": {"strokeWidth": 0}},
    }


def _frame(grid: np.ndarray, v: np.ndarray, policy: np.ndarray, chosen: tuple, path: set) -> pd.DataFrame:
    h, w = grid.shape
    r, c = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    kind = np.array([gw.KINDS[k] for k in grid.ravel()])
    vv = np.where(grid == gw.WALL, 0, v).ravel()
    vv = np.where(gw.terminal(grid).ravel(), [gw.REWARD.get(k, 0) for k in grid.ravel()], vv)
    arrow = [gw.ARROWS[a] if a >= 0 else "" for a in policy.ravel()]
    label = []
    for i, k in enumerate(grid.ravel()):
        cell = (int(r.ravel()[i]), int(c.ravel()[i]))
        text = {gw.GOAL: "+1", gw.PIT: "-1", gw.START: "start"}.get(int(k), "")
        if k in (gw.EMPTY, gw.START):
            text = (text + " " if text else "") + f"{vv[i]:.2f}" + (" \u2022" if cell in path else "")
        label.append(text)
    return pd.DataFrame({"r": r.ravel(), "c": c.ravel(), "kind": kind, "v": np.round(vv, 3), "arrow": arrow,
                         "label": label, "chosen": (r.ravel() == chosen[0]) & (c.ravel() == chosen[1])})


def _state() -> dict:
    s = st.session_state
    if "rl_grid" not in s:
        s["rl_grid"] = gw.DEFAULT.copy()
        _reset_learning()
    return s


def _reset_learning() -> None:
    s = st.session_state
    shape = s["rl_grid"].shape
    s["rl_v"], s["rl_sweeps"] = np.zeros(shape), 0
    s["rl_q"], s["rl_episodes"], s["rl_last"] = np.zeros((*shape, 4)), 0, None
    s["rl_rng"] = np.random.default_rng(0)


def _reset_grid() -> None:
    st.session_state["rl_grid"] = gw.DEFAULT.copy()
    st.session_state["rl_chart_n"] = st.session_state.get("rl_chart_n", 0) + 1
    _reset_learning()


def _apply_click(cell: tuple, pick: str) -> None:
    s = st.session_state
    if PICK[pick] is None:
        s["rl_chosen"] = cell
        return
    grid = s["rl_grid"].copy()
    if PICK[pick] == gw.START:
        grid[grid == gw.START] = gw.EMPTY
    grid[cell] = PICK[pick]
    s["rl_grid"] = grid
    _reset_learning()


def _advance(algo: str, grid: np.ndarray, gamma: float, alpha: float, eps: float, n: int) -> None:
    """n value-iteration sweeps, or n Q-learning episodes, from where this session left off."""
    s = st.session_state
    if algo == "Value iteration":
        for _ in range(n):
            new = gw.q_from_v(grid, s["rl_v"], gamma).max(-1)
            new[(grid == gw.WALL) | gw.terminal(grid)] = 0.0
            s["rl_delta"], s["rl_v"], s["rl_sweeps"] = float(np.abs(new - s["rl_v"]).max()), new, s["rl_sweeps"] + 1
    else:
        for _ in range(n):
            ep = gw.q_episode(grid, s["rl_q"], alpha, gamma, eps, s["rl_rng"])
            s["rl_q"], s["rl_last"], s["rl_episodes"] = ep.q, ep, s["rl_episodes"] + 1


def tab() -> None:
    s = _state()
    st.markdown(
        "A robot walks a grid: each step moves it up, right, down or left (walls and edges block). Stepping "
        "onto a **+1** or **-1** cell pays that reward and ends the episode. **Value iteration** knows the rules "
        "and sweeps the Bellman optimality update over every cell; **Q-learning** does not: it learns from its own "
        "epsilon-greedy episodes. Colours show V(s) (red good, blue bad), arrows the greedy policy. Click a cell "
        "to change it, or pick *inspect* and click to see its Bellman update with the live numbers.")
    c = st.columns([1.3, 1, 1, 1])
    algo = c[0].radio("Algorithm", ["Value iteration", "Q-learning"], key="rl_algo", horizontal=True)
    gamma = c[1].slider("gamma (discount)", 0.5, 1.0, 0.9, 0.01, key="rl_gamma")
    alpha = c[2].slider("alpha (step size)", 0.05, 1.0, 0.5, 0.05, key="rl_alpha", disabled=algo != "Q-learning")
    eps = c[3].slider("epsilon (exploration)", 0.0, 1.0, 0.2, 0.05, key="rl_eps", disabled=algo != "Q-learning")
    pick = st.segmented_control("A click on a cell makes it", list(PICK), default="inspect", key="rl_pick") or "inspect"
    b = st.columns([1, 1, 1, 1, 2])
    label = "One sweep" if algo == "Value iteration" else "Step one episode"
    b[0].button(label, key="rl_step", on_click=set_state, args=("rl_step_requested",))
    playing = b[1].toggle("Play", key="rl_play")
    b[2].button("Reset values", key="rl_reset", on_click=_reset_learning)
    b[3].button("Reset grid", key="rl_reset_grid", on_click=_reset_grid)
    grid_view(algo, gamma, alpha, eps, pick, playing)


def grid_view(algo: str, gamma: float, alpha: float, eps: float, pick: str, playing: bool) -> None:
    @st.fragment(run_every=TICK_S if playing else None)
    def view() -> None:
        s = st.session_state
        grid = s["rl_grid"]
        problem = gw.validate(grid, gamma)
        if problem is None:
            n = 1 if s.pop("rl_step_requested", False) else 0
            if playing:
                n = 1 if algo == "Value iteration" else EPISODES_PER_TICK
            _advance(algo, grid, gamma, alpha, eps, n)
        else:
            s.pop("rl_step_requested", None)
            st.warning(problem, icon=":material/block:")
        if algo == "Value iteration":
            v = s["rl_v"]
            q = gw.q_from_v(grid, v, gamma)
        else:
            q = s["rl_q"]
            v = np.where((grid == gw.WALL) | gw.terminal(grid), 0.0, q.max(-1))
        chosen = s.get("rl_chosen") or gw.start_cell(grid) or (0, 0)
        chosen = chosen if chosen[0] < grid.shape[0] and chosen[1] < grid.shape[1] else (0, 0)
        last = s.get("rl_last") if algo == "Q-learning" else None
        df = _frame(grid, v, gw.greedy(q, grid), chosen, set(last.path) if last else set())
        left, right = st.columns([1.25, 1], gap="large")
        key = f"rl_grid_chart_{s.get('rl_chart_n', 0)}"
        event = left.vega_lite_chart(df, _spec(*grid.shape), on_select="rerun", selection_mode="cell", key=key,
                                     width="content")
        picked = (event or {}).get("selection", {}).get("cell") or []
        if picked:
            _apply_click((int(picked[0]["r"]), int(picked[0]["c"])), pick)
            s["rl_chart_n"] = s.get("rl_chart_n", 0) + 1  # a fresh chart: the next click is a new selection
            st.rerun(scope="fragment")
        with right:
            if algo == "Value iteration":
                delta = s.get("rl_delta")
                st.caption(f"Sweeps so far: **{s['rl_sweeps']}**" + (f", largest change in the last one: {delta:.4f}"
                                                                     if s["rl_sweeps"] and delta is not None else ""))
            else:
                st.caption(f"Episodes so far: **{s['rl_episodes']}**" + (
                    f"; the last one: {last.steps} steps, return {last.ret:+.0f} (its cells are marked \u2022)" if last else ""))
            bellman(grid, chosen, gamma, v if algo == "Value iteration" else None, q if algo == "Q-learning" else None, alpha)

    view()


def bellman(grid, cell, gamma, v, q, alpha) -> None:
    b = gw.analyse(grid, cell, gamma, v=v, q=q, alpha=alpha if q is not None else None)
    st.markdown(f"**The Bellman update of cell (row {cell[0]}, col {cell[1]})**")
    if b is None:
        st.caption("A wall or a terminal cell has no update: pick *inspect* and click an empty cell.")
        return
    rows = [{"action": t.action, "next cell": str(t.next_cell), "r": t.reward,
             ("V(s')" if q is None else "max Q(s',a')"): round(t.next_value, 3),
             "r + gamma * next": round(t.total, 3)} for t in b.terms]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    t = b.terms[b.best]
    if q is None:
        st.code(f"V(s) <- max_a [ r + gamma * V(s') ]\n"
                f"      = {t.reward:g} + {gamma:g} * {t.next_value:.3f}   (best action: {t.action})\n"
                f"      = {b.new:.3f}      (now {b.old:.3f})", language=None)
    else:
        st.code(f"Q(s,a) <- Q(s,a) + alpha * [ r + gamma * max_a' Q(s',a') - Q(s,a) ]    a = {t.action} (greedy)\n"
                f"        = {b.old:.3f} + {alpha:g} * [ {t.reward:g} + {gamma:g} * {t.next_value:.3f} - {b.old:.3f} ]\n"
                f"        = {b.new:.3f}", language=None)
