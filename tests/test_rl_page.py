"""The RL page (AppTest): renders from the shipped agents, GridWorld stepping and bad grids, the DDPG
switch, and live DQN / TD3 training in worker processes (start, stop, one session's job unseen by another)."""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dl_core import gridworld as gw
from dl_core.recipes import rl as recipe

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("one_thread")


def page(tab: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.switch_page("pages/rl.py")
    if tab:
        at.session_state["rl_tab"] = tab
    at.run()
    ok(at)
    return at


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def texts(at: AppTest) -> str:
    return " ".join([c.value for c in at.caption] + [m.value for m in at.markdown] + [i.value for i in at.info]
                    + [s.value for s in at.success] + [w.value for w in at.warning] + [c.value for c in at.code])


def test_gridworld_value_iteration_q_learning_and_bad_grids():
    at = page()
    assert [t.label for t in at.tabs] == ["GridWorld (tabular)", "DQN on CartPole", "TD3 on Pendulum"]
    assert "Sweeps so far: **0**" in texts(at)
    for k in range(1, 4):
        at.button(key="rl_step").click().run()
        assert f"Sweeps so far: **{k}**" in texts(at)
    v = at.session_state["rl_v"]
    expected = list(gw.value_iteration(gw.DEFAULT, 0.9, max_sweeps=3))[-1].v
    np.testing.assert_allclose(v, expected)  # the page's sweeps are value iteration's sweeps
    assert "V(s) <- max_a" in texts(at)
    at.radio(key="rl_algo").set_value("Q-learning").run()
    at.button(key="rl_step").click().run()
    ok(at)
    assert "Episodes so far: **1**" in texts(at) and "Q(s,a) <- Q(s,a) + alpha" in texts(at)
    at.session_state["rl_grid"] = np.full((4, 4), gw.WALL)
    at.run()
    assert any("all walls" in w.value for w in at.warning)
    grid = gw.DEFAULT.copy()
    grid[grid == gw.GOAL] = gw.EMPTY
    grid[grid == gw.PIT] = gw.EMPTY
    at.session_state["rl_grid"] = grid
    at.slider(key="rl_gamma").set_value(1.0).run()
    assert any("gamma = 1 with no terminal state" in w.value for w in at.warning)
    at.slider(key="rl_gamma").set_value(0.9).run()
    assert any("no path from the start to any reward" in w.value for w in at.warning)
    ok(at)


def test_dqn_and_td3_tabs_render_from_shipped_agents():
    at = page("DQN on CartPole")
    assert "Mean return of 100 greedy episodes" in texts(at) and "Q-values over pole angle" in texts(at)
    at.select_slider(key="dqn_phase").set_value(6).run()
    ok(at)
    assert "y = r + gamma * max_a' Q'(s', a')" in texts(at)
    at.session_state["rl_tab"] = "TD3 on Pendulum"
    at.run()
    ok(at)
    assert "The learned policy" in texts(at)
    dot = at.get("graphviz_chart")[0].proto.spec
    assert "dashed" not in dot and "min(Q1', Q2')" in dot
    at.segmented_control(key="td3_algo").set_value("DDPG").run()
    dot = at.get("graphviz_chart")[0].proto.spec
    assert "dashed" in dot and "target critic Q'" in dot  # TD3's additions switched off


def wait_text(at: AppTest, text: str, timeout: float = 150.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in texts(at):
        assert time.monotonic() < deadline, f"{text!r} not shown; page says: {texts(at)[-600:]}"
        time.sleep(0.5)
        at.run()
        ok(at)


def test_live_training_in_workers_start_stop_and_isolation(monkeypatch):
    monkeypatch.setattr(recipe, "LIVE_DQN", replace(recipe.LIVE_DQN, total_steps=400, learning_starts=100,
                                                    eval_every=200, eval_episodes=1, stop_at=None))
    monkeypatch.setattr(recipe, "LIVE_TD3", replace(recipe.LIVE_TD3, total_steps=10**6, eval_every=10**6))
    a, b = page("DQN on CartPole"), page("DQN on CartPole")
    a.button(key="dqn_train_start").click().run()
    ok(a)
    job = a.session_state["dqn_train_job"]
    assert job.kind == "rl-dqn"
    b.session_state["dqn_train_job"] = job  # even holding A's job object, B is not shown it
    b.run()
    assert "No training run yet in this session." in texts(b) and "Running" not in texts(b)
    wait_text(a, "Done: the best network scored")
    assert "Finished." in texts(a) and a.session_state["dqn_train_job"].events[-1].done
    b.session_state["rl_tab"] = "TD3 on Pendulum"
    b.run()
    b.button(key="td3_train_start").click().run()
    wait_text(b, "Running for")
    b.button(key="td3_train_stop").click().run()
    wait_text(b, "Stopped.")
    assert not b.session_state["td3_train_job"].active
