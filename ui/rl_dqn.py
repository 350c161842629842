"""The DQN tab: the agent loop lit part by part, the shipped CartPole agent, and training your own in a worker."""
from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import streamlit as st

from dl_core import dqn, rl_env
from dl_core.recipes import rl as recipe
from ui import charts, rl_common as rc
from ui.models import model_card
from ui import present

NODES = [("s", "state s\\n(4 numbers)"), ("qnet", "Q-network\\nQ(s, .)"), ("eps", "epsilon-greedy\\naction a"),
         ("env", "env.step(a)"), ("r", "reward r,\\nnext state s'"), ("buf", "replay buffer\\n(s, a, r, s', done)"),
         ("target", "TD target\\ny = r + gamma max Q'(s', .)"), ("tnet", "target network Q'\\n(copy every N steps)"),
         ("loss", "Huber(Q(s,a), y)\\nAdam step")]
EDGES = [("s", "qnet", ""), ("qnet", "eps", "Q-values"), ("eps", "env", "a"), ("env", "r", ""), ("r", "buf", "store"),
         ("buf", "target", "batch of 64"), ("tnet", "target", "max Q'(s')"), ("target", "loss", "y"),
         ("loss", "qnet", "gradient"), ("qnet", "tnet", "copy")]
PHASES = [("s", "Observe the state"), ("qnet", "Q-network scores both actions"), ("eps", "Pick an action"),
          ("env", "Step the environment"), ("r", "Reward and next state"), ("buf", "Store the transition"),
          ("target", "TD target from the target network"), ("loss", "Loss and gradient step"), ("tnet", "Sync the target network")]
ACTIONS = ("push left", "push right")


@st.cache_resource(show_spinner=False)
def shipped() -> dqn.QNetwork | None:
    path = rc.ASSETS / f"{recipe.DQN_NAME}.pt"
    return dqn.load(path) if path.exists() else None


@st.cache_data(show_spinner=False, max_entries=64)
def one_step(seed: int, eps: float) -> dict:
    """One real transition of the shipped agent (the numbers of the step-through)."""
    q_net = shipped()
    env = rl_env.SeededEnv("CartPole-v1", seed)
    s = env.reset()
    rng = np.random.default_rng(seed)
    for _ in range(int(rng.integers(0, 30))):  # a few greedy steps in, so the pole is moving
        s, *_ = env.step(dqn.greedy_policy(q_net)(s))
    import torch

    q = q_net(torch.from_numpy(s)[None])[0].detach().numpy()
    explore = bool(rng.random() < eps)
    a = int(rng.integers(2)) if explore else int(q.argmax())
    s2, r, term, trunc = env.step(a)
    y = float(dqn.td_target(q_net, torch.tensor([r]), torch.from_numpy(s2)[None], torch.tensor([float(term)]), 0.99)[0])
    env.close()
    return {"s": s, "q": q, "explore": explore, "a": a, "s2": s2, "r": r, "term": term, "y": y,
            "loss": float(torch.nn.functional.smooth_l1_loss(torch.tensor(q[a]), torch.tensor(y)))}


def phase_text(key: str, t: dict, eps: float) -> str:
    f = lambda v: ", ".join(f"{x:+.3f}" for x in v)  # noqa: E731
    return {
        "s": f"s = [{f(t['s'])}]: cart position, cart velocity, pole angle (rad), pole angular velocity.",
        "qnet": f"Q(s, push left) = {t['q'][0]:.2f}, Q(s, push right) = {t['q'][1]:.2f}: the expected discounted return of each action.",
        "eps": f"With probability epsilon = {eps:g} a random action, else the larger Q. This time: "
               f"**{ACTIONS[t['a']]}** ({'random' if t['explore'] else 'greedy'}).",
        "env": f"env.step({t['a']}) moves the simulated cart for 0.02 s.",
        "r": f"r = {t['r']:g} (CartPole pays +1 for every step the pole stays up); s' = [{f(t['s2'])}]; "
             f"terminated = {t['term']}.",
        "buf": "The tuple (s, a, r, s', terminated) goes into the replay buffer; training samples random batches "
               "from it, so consecutive, correlated steps are not learned one after the other.",
        "target": f"y = r + gamma * max_a' Q'(s', a') = {t['r']:g} + 0.99 * max Q'(s') = **{t['y']:.3f}** "
                  "(no bootstrap when the pole fell: y = r). Here Q' is the shipped network itself.",
        "loss": f"Huber(Q(s, a) = {t['q'][t['a']]:.3f}, y = {t['y']:.3f}) = {t['loss']:.4f}; its gradient moves Q(s, a) toward y.",
        "tnet": "Every N steps the target network becomes a copy of the online network: a target that stands "
                "still for a while, so the network does not chase its own moving estimate.",
    }[key]


def tab() -> None:
    st.markdown(
        "**CartPole-v1**: push a cart left or right to keep a pole upright; +1 per step, at most 500. "
        "**DQN** learns Q(s, a), the expected discounted return of each action, with a small MLP, from random "
        "batches of a replay buffer, against a target computed by a slowly updated copy of itself.")
    q_net = shipped()
    if q_net is None:
        st.error("The shipped DQN agent is missing: run `python -m dl_core.train rl-dqn`.")
        return
    card = model_card(recipe.DQN_NAME)
    st.caption(f"Shipped agent: {card['parameters']:,} parameters, trained {card['steps']:,} steps in "
               f"{card['train_time_s']:.0f} s by `{card['command']}`; the best greedy-evaluated network is kept. "
               f"Mean return of 100 greedy episodes on fresh seeds: **{card['eval_return_mean']:.1f}** (target >= 475).")
    st.subheader("The agent loop, one step at a time")
    c = st.columns([2, 1])
    phase = c[0].select_slider("Part of the loop", list(range(len(PHASES))), 0, key="dqn_phase",
                               format_func=lambda i: f"{i + 1}. {PHASES[i][1]}")
    eps = c[1].select_slider("epsilon", [0.0, 0.05, 0.2, 0.5, 1.0], 0.05, key="dqn_eps")
    present.graphviz(rc.diagram(NODES, EDGES, {PHASES[phase][0]}))
    st.markdown(phase_text(PHASES[phase][0], one_step(7, eps), eps))
    hist = rc.shipped_history(recipe.DQN_NAME)
    st.subheader("How the shipped agent learned")
    if hist is not None:
        episodes, evals, ckpts, stats = hist
        rc.charts.show(rc.returns_chart(episodes, evals, (0, 520)))
        if "loss" in stats:
            s = st.columns(3)
            for col, (k, t) in zip(s, (("epsilon", "epsilon"), ("buffer_fill", "replay buffer fill"), ("loss", "TD loss"))):
                charts.show(rc.stat_chart(stats["step"], stats[k], t), col)
        left, right = st.columns(2, gap="large")
        steps = sorted(ckpts)
        step = left.select_slider("Checkpoint (environment step)", steps, steps[-1], key="dqn_ckpt")
        seed = int(left.number_input("Episode seed", 0, 99, 0, key="dqn_seed"))
        net = dqn.from_state(q_net.cfg, ckpts[step])
        rc.episode_player(dqn.greedy_policy(net), ("dqn", step), "CartPole-v1", seed, left)
        with right:
            q_slice(net, f"checkpoint at step {step:,}")
    st.subheader("Train your own")
    train_section(q_net.cfg)


def q_slice(net: dqn.QNetwork, what: str) -> None:
    qs = dqn.analyse(net, n=31)
    st.caption(f"Q-values over pole angle x angular velocity (cart at rest in the middle), {what}. "
               "Right of the diagonal the pole falls right: pushing right should be worth more.")
    for a in (0, 1):
        charts.show(rc.heat_chart(np.degrees(qs.angles), qs.velocities, qs.q[..., a], f"Q(s, {ACTIONS[a]})",
                                  "pole angle (deg)", "angular velocity (rad/s)", "Q", scheme="viridis"))
    charts.show(rc.heat_chart(np.degrees(qs.angles), qs.velocities, qs.q[..., 1] - qs.q[..., 0],
                              "Q(right) - Q(left): red = push right", "pole angle (deg)", "angular velocity (rad/s)", "difference"))


def train_section(cfg: dqn.DQNConfig) -> None:
    p = recipe.LIVE_DQN
    st.markdown(f"A fresh agent with the same recipe, trained in a worker process for your session only: at most "
                f"{p.total_steps:,} steps or {p.max_seconds:.0f} s"
                + (f"; it stops once {p.eval_episodes} greedy episodes average >= {p.stop_at:g}. " if p.stop_at else ". ") +
                "On one core it usually gets there in about a minute. DQN is unstable, so the best network is kept.")
    c = st.columns([1, 1, 1.3, 3])
    seed = int(c[2].number_input("Seed", 0, 10_000, 1, key="dqn_train_seed"))
    rc.job_buttons("dqn_train", "rl-dqn", "dl_core.dqn:train",
                   lambda: {"cfg": replace(p, seed=seed), "report_every": 500}, p.max_seconds + 30, c)
    rc.live("dqn_train", draw, "No training run yet in this session.")


def draw(events: list) -> None:
    last = events[-1]
    episodes = np.array([r for e in events for r in e.returns], np.float32).reshape(-1, 2)
    evals = np.array([[e.step, e.eval_return] for e in events if e.eval_return is not None], np.float32).reshape(-1, 2)
    lit = {"s", "qnet", "eps", "env", "r", "buf"} | ({"target", "loss"} if last.updates else set()) | (
        {"tnet"} if last.target_syncs else set())
    left, right = st.columns([1, 1.3])
    present.graphviz(rc.diagram(NODES, EDGES, lit), left)
    left.caption(f"Step {last.step:,}: epsilon {last.epsilon:.2f}, {last.updates} gradient steps and "
                 f"{last.target_syncs} target syncs since the last report. Best greedy evaluation: {last.best:.0f}.")
    charts.show(rc.returns_chart(episodes, evals, (0, 520)), right)
    steps = np.array([e.step for e in events], float)
    s = st.columns(3)
    charts.show(rc.stat_chart(steps, np.array([e.epsilon for e in events]), "epsilon"), s[0])
    charts.show(rc.stat_chart(steps, np.array([e.buffer_fill for e in events], float), "replay buffer fill"), s[1])
    charts.show(rc.stat_chart(steps, np.array([np.nan if e.loss is None else e.loss for e in events]), "TD loss"), s[2])
    best = next((e for e in reversed(events) if e.done), None)
    if best is not None and best.checkpoint is not None:
        net = dqn.from_state(recipe.LIVE_DQN, best.checkpoint)
        st.success(f"Done: the best network scored {best.best:.0f} in its greedy evaluation.", icon=":material/check_circle:")
        left, right = st.columns(2, gap="large")
        digest = hashlib.sha1(b"".join(v.tobytes() for v in best.checkpoint.values())).hexdigest()[:16]
        rc.episode_player(dqn.greedy_policy(net), ("dqn-own", digest), "CartPole-v1", 0, left)
        with right:
            q_slice(net, "your best network")
