"""Reinforcement learning page: tabular GridWorld, DQN on CartPole, TD3 (the course's algorithm) on Pendulum."""
import streamlit as st

from dl_core import dqn, gridworld, td3
from ui import rl_dqn, rl_grid, rl_td3
from ui.common import page_start, show_code, sidebar_status

page_start(
    "Reinforcement learning",
    "An **agent** acts in an **environment**, gets **rewards**, and learns which actions pay off in the long "
    "run. The value of a state, V(s), and of an action, Q(s, a), are the discounted rewards to come; the "
    "Bellman equation ties each value to the values one step later. Start with a grid you can edit, then "
    "watch a DQN balance a pole and TD3, the course's algorithm, swing up a pendulum; every agent is real "
    "PyTorch, and you can train your own while you watch.",
)

# Only the open tab runs (on_change="rerun"): a rerun does one tab's work.
grid, deep_q, actor_critic = st.tabs(["GridWorld (tabular)", "DQN on CartPole", "TD3 on Pendulum"],
                                     key="rl_tab", on_change="rerun")
if grid.open:
    with grid:
        rl_grid.tab()
        show_code(gridworld.value_iteration, gridworld.q_episode, gridworld.analyse,
                  title="Show the code: value iteration, a Q-learning episode, the Bellman update")
if deep_q.open:
    with deep_q:
        rl_dqn.tab()
        show_code(dqn.QNetwork, dqn.td_target, dqn.td_loss, dqn.train,
                  title="Show the code: Q-network, TD target, loss, the training loop")
if actor_critic.open:
    with actor_critic:
        rl_td3.tab()
        show_code(td3.Actor, td3.Critic, td3.td_target, td3.soft_update, td3.train,
                  title="Show the code: actor, critic, TD target, soft update, the training loop")

sidebar_status()
