"""The TD3 tab (the course's algorithm): what TD3 adds to DDPG, the shipped Pendulum agent, training your own."""
from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import streamlit as st

from dl_core import td3
from dl_core.recipes import rl as recipe
from ui import charts, rl_common as rc
from ui.models import model_card
from ui import present

NODES = [("s", "state s"), ("actor", "actor pi(s)"), ("noise", "exploration noise\\na = pi(s) + N(0, 0.2)"),
         ("env", "env.step(a)"), ("buf", "replay buffer"), ("actor_t", "target actor pi'"),
         ("smooth", "target-policy smoothing\\na' = pi'(s') + clip(noise)"), ("critics_t", "target critics Q1', Q2'"),
         ("target", "TD target\\ny = r + gamma min(Q1', Q2')"), ("critics", "twin critics Q1, Q2\\n(MSE to y)"),
         ("delay", "policy delay:\\nactor step every 2nd update"), ("soft", "soft update\\ntheta' <- tau theta + (1-tau) theta'")]
EDGES = [("s", "actor", ""), ("actor", "noise", ""), ("noise", "env", "a"), ("env", "buf", "(s,a,r,s')"),
         ("buf", "actor_t", "s'"), ("actor_t", "smooth", ""), ("smooth", "critics_t", "a'"), ("critics_t", "target", ""),
         ("buf", "critics", "(s,a)"), ("target", "critics", "y"), ("critics", "delay", "Q1(s, pi(s))"),
         ("delay", "actor", "gradient"), ("delay", "soft", ""), ("soft", "actor_t", ""), ("soft", "critics_t", "")]
TD3_ONLY = {"smooth", "delay"}  # switched off (dashed) for DDPG; its critic is one, its target takes no min
DDPG_LABELS = {"critics_t": "target critic Q'", "target": "TD target\\ny = r + gamma Q'(s', pi'(s'))",
               "critics": "critic Q\\n(MSE to y)"}
WHAT_TD3_ADDS = (
    "**What TD3 adds to DDPG.** DDPG's critic overestimates, and the actor exploits the errors. TD3 adds three fixes: "
    "**twin critics** (the target takes the smaller of two estimates), **target-policy smoothing** (clipped noise on "
    "the target action, so Q cannot have a sharp false peak) and a **policy delay** (the actor and the target networks "
    "move once per two critic steps, on a critic that has settled a little).")


PHASES = [("s", "Observe the state s = (cos angle, sin angle, angular velocity)."),
          ("actor", "The actor proposes a torque pi(s) in [-2, 2]."),
          ("noise", "Gaussian exploration noise is added: deterministic policies need it to explore."),
          ("env", "env.step(a) swings the pendulum for 0.05 s and returns the reward."),
          ("buf", "The transition (s, a, r, s') goes into the replay buffer; a random batch of 128 comes out."),
          ("actor_t", "The target actor pi' (a slow copy) picks the next action a' for each s'."),
          ("smooth", "TD3: clipped noise is added to a', so the critic's target is smooth around it."),
          ("critics_t", "The target critics score (s', a'); TD3 takes the smaller of the two."),
          ("target", "y = r + gamma * min(Q1', Q2')(s', a'): the TD target."),
          ("critics", "Both critics regress Q(s, a) onto y (mean squared error), every step."),
          ("delay", "TD3: only every 2nd step does the actor ascend Q1(s, pi(s))."),
          ("soft", "Then every target network moves a little: theta' <- 0.005 theta + 0.995 theta'.")]


def nodes(ddpg: bool) -> list:
    return [(k, DDPG_LABELS.get(k, label) if ddpg else label) for k, label in NODES]


@st.cache_resource(show_spinner=False)
def shipped() -> td3.Actor | None:
    path = rc.ASSETS / f"{recipe.TD3_NAME}.pt"
    return td3.load(path) if path.exists() else None


def tab() -> None:
    st.markdown(
        "**Pendulum-v1**: swing a pendulum up and hold it upright with a limited torque; the reward is minus "
        "(angle^2 + 0.1 velocity^2 + 0.001 torque^2) per step, 200 steps an episode, so 0 is perfect and about "
        "-150 is good. **TD3** learns a deterministic actor pi(s) and two critics Q(s, a) from a replay buffer.")
    actor = shipped()
    if actor is None:
        st.error("The shipped TD3 agent is missing: run `python -m dl_core.train rl-td3`.")
        return
    card = model_card(recipe.TD3_NAME)
    st.caption(f"Shipped actor: {card['parameters']:,} parameters, {card['steps']:,} steps in {card['train_time_s']:.0f} s "
               f"by `{card['command']}`, best greedy-evaluated actor kept. Mean return of 100 greedy episodes on fresh "
               f"seeds: **{card['eval_return_mean']:.1f}** (target >= -200).")
    st.subheader("The algorithm, and the DDPG switch")
    algo = st.segmented_control("Algorithm", ["TD3", "DDPG"], default="TD3", key="td3_algo") or "TD3"
    ddpg = algo == "DDPG"
    phase = st.select_slider("Part of the update", list(range(len(PHASES))), 0, key="td3_phase",
                             format_func=lambda i: f"{i + 1}. {PHASES[i][0]}")
    part, text = PHASES[phase]
    present.graphviz(rc.diagram(nodes(ddpg), EDGES, {part}, TD3_ONLY if ddpg else set()))
    if ddpg and part in TD3_ONLY:
        text = "DDPG has no such step: " + text
    st.markdown(f"**{phase + 1}.** {text}")
    st.markdown(WHAT_TD3_ADDS)
    hist = rc.shipped_history(recipe.TD3_NAME)
    st.subheader("How the shipped agent learned")
    if hist is not None:
        episodes, evals, ckpts, stats = hist
        charts.show(rc.returns_chart(episodes, evals, (-1700, 0)))
        left, right = st.columns(2, gap="large")
        steps = sorted(ckpts)
        step = left.select_slider("Checkpoint (environment step)", steps, steps[-1], key="td3_ckpt")
        seed = int(left.number_input("Episode seed", 0, 99, 0, key="td3_seed"))
        net = td3.from_state(actor.cfg, ckpts[step])
        rc.episode_player(td3.greedy_policy(net), ("td3", step), "Pendulum-v1", seed, left)
        with right:
            policy_map(net, f"checkpoint at step {step:,}")
    st.subheader("Train your own")
    train_section(ddpg)


def policy_map(actor: td3.Actor, what: str) -> None:
    p = td3.analyse(actor, n=41)
    st.caption(f"The learned policy, {what}: the torque for every angle (0 = upright) and angular velocity.")
    charts.show(rc.heat_chart(np.degrees(p.angles), p.velocities, p.torque, "torque pi(angle, velocity)",
                              "angle (deg, 0 = up)", "angular velocity (rad/s)", "torque", domain=(-2.0, 2.0)))


def train_section(ddpg: bool) -> None:
    p = recipe.LIVE_TD3
    st.markdown(f"Train a fresh {'DDPG' if ddpg else 'TD3'} agent (the switch above decides) in a worker process for "
                f"your session only: {p.total_steps:,} steps ({p.total_steps // 200} episodes) or {p.max_seconds:.0f} s "
                "at most. The diagram lights the parts that ran since the last report: the soft update and the actor "
                "step run half as often as the critics in TD3.")
    c = st.columns([1, 1, 1.3, 3])
    seed = int(c[2].number_input("Seed", 0, 10_000, 1, key="td3_train_seed"))
    rc.job_buttons("td3_train", "rl-td3", "dl_core.td3:train",
                   lambda: {"cfg": replace(p, seed=seed, ddpg=ddpg), "report_every": 250}, p.max_seconds + 30, c)
    rc.live("td3_train", draw, "No training run yet in this session.")


def draw(events: list) -> None:
    last = events[-1]
    ddpg = st.session_state.get("td3_algo") == "DDPG"
    episodes = np.array([r for e in events for r in e.returns], np.float32).reshape(-1, 2)
    evals = np.array([[e.step, e.eval_return] for e in events if e.eval_return is not None], np.float32).reshape(-1, 2)
    lit = {"s", "actor", "noise", "env", "buf"} | ({"actor_t", "smooth", "critics_t", "target", "critics"}
                                                  if last.critic_updates else set())
    lit |= {"delay", "soft"} if last.actor_updates else set()
    left, right = st.columns([1, 1.3])
    present.graphviz(rc.diagram(nodes(ddpg), EDGES, lit, TD3_ONLY if ddpg else set()), left)
    left.caption(f"Step {last.step:,}: {last.critic_updates} critic updates, {last.actor_updates} actor + soft "
                 f"target updates since the last report. Best greedy evaluation: {last.best:.0f}.")
    charts.show(rc.returns_chart(episodes, evals, (-1700, 0)), right)
    steps = np.array([e.step for e in events], float)
    s = st.columns(3)
    charts.show(rc.stat_chart(steps, np.array([np.nan if e.critic_loss is None else e.critic_loss for e in events]), "critic loss"), s[0])
    charts.show(rc.stat_chart(steps, np.array([np.nan if e.actor_loss is None else e.actor_loss for e in events]), "actor loss"), s[1])
    charts.show(rc.stat_chart(steps, np.array([e.buffer_fill for e in events], float), "replay buffer fill"), s[2])
    done = next((e for e in reversed(events) if e.done), None)
    if done is not None and done.checkpoint is not None:
        actor = td3.from_state(recipe.LIVE_TD3, done.checkpoint)
        st.success(f"Done: the best actor scored {done.best:.0f} in its greedy evaluation.", icon=":material/check_circle:")
        left, right = st.columns(2, gap="large")
        digest = hashlib.sha1(b"".join(v.tobytes() for v in done.checkpoint.values())).hexdigest()[:16]
        rc.episode_player(td3.greedy_policy(actor), ("td3-own", digest), "Pendulum-v1", 0, left)
        with right:
            policy_map(actor, "your best actor")
