"""Unit tests of dl_core's RL: GridWorld, the seeded env wrapper, DQN's and TD3's targets, soft update."""
from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from dl_core import dqn, gridworld as gw, rl_env, td3

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def test_dqn_td_target_equals_hand_computation(one_thread):
    torch.manual_seed(0)
    net = dqn.QNetwork(dqn.DQNConfig(hidden=8))
    next_obs = torch.randn(3, 4)
    rewards = torch.tensor([1.0, 0.5, -1.0])
    terminated = torch.tensor([0.0, 1.0, 0.0])
    y = dqn.td_target(net, rewards, next_obs, terminated, 0.9)
    q = net(next_obs).detach().numpy()  # (3, 2)
    hand = [1.0 + 0.9 * max(q[0]), 0.5, -1.0 + 0.9 * max(q[2])]  # terminated: no bootstrap
    np.testing.assert_allclose(y.numpy(), hand, rtol=1e-6)


def test_td3_target_equals_hand_computation(one_thread):
    cfg = td3.TD3Config(hidden=8)
    torch.manual_seed(0)
    actor, critics = td3.Actor(cfg), [td3.Critic(cfg), td3.Critic(cfg)]
    next_obs = torch.randn(2, 3)
    rewards, terminated = torch.tensor([-1.0, -2.0]), torch.tensor([0.0, 0.0])
    noise = torch.tensor([[3.0], [-0.1]])  # the first is clipped to +noise_clip * max_action
    y = td3.td_target(cfg, actor, critics, rewards, next_obs, terminated, noise)
    with torch.no_grad():
        a = actor(next_obs)[:, 0].numpy()
        eps = np.clip(noise[:, 0].numpy() * 0.2 * 2.0, -1.0, 1.0)
        a_next = torch.tensor(np.clip(a + eps, -2.0, 2.0))[:, None]
        q1, q2 = critics[0](next_obs, a_next).numpy(), critics[1](next_obs, a_next).numpy()
    hand = rewards.numpy() + 0.99 * np.minimum(q1, q2)
    np.testing.assert_allclose(y.numpy(), hand, rtol=1e-5)
    # DDPG: one critic, no smoothing noise
    cfg_d = replace(cfg, ddpg=True)
    y_d = td3.td_target(cfg_d, actor, critics[:1], rewards, next_obs, terminated)
    with torch.no_grad():
        hand_d = rewards + 0.99 * critics[0](next_obs, actor(next_obs))
    np.testing.assert_allclose(y_d.numpy(), hand_d.numpy(), rtol=1e-6)


def test_soft_update_equals_formula(one_thread):
    torch.manual_seed(0)
    src, tgt = td3.Critic(td3.TD3Config(hidden=8)), td3.Critic(td3.TD3Config(hidden=8))
    before = [p.detach().clone() for p in tgt.parameters()]
    td3.soft_update(tgt, src, 0.1)
    for b, s, t in zip(before, src.parameters(), tgt.parameters()):
        torch.testing.assert_close(t, 0.1 * s + 0.9 * b)


def test_env_wrapper_is_seeded_and_reproducible():
    def trace(seed):
        env = rl_env.SeededEnv("CartPole-v1", seed)
        out = [env.reset()]
        for k in range(30):
            obs, r, term, trunc = env.step(k % 2)
            out.append(obs)
            if term or trunc:
                out.append(env.reset())
        env.close()
        return np.stack(out)
    np.testing.assert_array_equal(trace(3), trace(3))
    assert not np.array_equal(trace(3), trace(4))
    a = rl_env.evaluate(lambda o: int(o[2] > 0), "CartPole-v1", 3)
    np.testing.assert_array_equal(a, rl_env.evaluate(lambda o: int(o[2] > 0), "CartPole-v1", 3))


def test_rendered_episode_and_gif():
    ep = rl_env.render_episode(lambda o: int(o[2] > 0), "CartPole-v1", seed=1, frame_every=4, max_frames=10)
    assert ep.frames is not None and ep.frames.dtype == np.uint8 and ep.frames.shape[1:] == (400, 600, 3)
    small = rl_env.shrink(ep.frames, 2)
    assert small.shape[1:] == (200, 300, 3)
    gif = rl_env.gif_bytes(small)
    assert gif[:6] == b"GIF89a"


def test_replay_buffer_ring():
    buf = dqn.ReplayBuffer(3, 2)
    for i in range(5):
        buf.add([i, i], i % 2, float(i), [i + 1, i + 1], i == 4)
    assert buf.size == 3 and set(buf.rewards) == {2.0, 3.0, 4.0}
    b = buf.sample(8, np.random.default_rng(0))
    assert b.obs.shape == (8, 2) and b.actions.dtype == torch.int64


def test_dqn_and_td3_train_and_report(one_thread):
    evs = list(dqn.train(dqn.DQNConfig(total_steps=300, learning_starts=100, eval_every=150, eval_episodes=1,
                                       target_every=50, stop_at=None), report_every=100))
    assert evs[-1].done and evs[-1].checkpoint is not None and sum(e.updates for e in evs) == 200
    assert sum(e.target_syncs for e in evs) == 6 and evs[-2].buffer_fill == 300
    assert evs[-1].best == max(e.eval_return for e in evs if e.eval_return is not None)
    cfg = td3.TD3Config(total_steps=200, learning_starts=100, eval_every=200, eval_episodes=1)
    evs = list(td3.train(cfg, report_every=100))
    assert sum(e.critic_updates for e in evs) == 100 and sum(e.actor_updates for e in evs) == 50  # delay 2
    evs = list(td3.train(replace(cfg, ddpg=True), report_every=100))
    assert sum(e.actor_updates for e in evs) == 100
    s = td3.analyse(td3.from_state(cfg, evs[-1].checkpoint), n=5)
    assert s.torque.shape == (5, 5) and np.abs(s.torque).max() <= 2.0


@pytest.mark.parametrize("name,key,bound", [("rl_dqn_cartpole", "CartPole", 475), ("rl_td3_pendulum", "Pendulum", -200)])
def test_shipped_agents_meet_their_cards(name, key, bound, one_thread):
    card = json.loads((ASSETS / f"{name}.json").read_text())
    assert card["eval_return_mean"] >= bound and card["env_id"].startswith(key)
    assert "/" not in card["command"].split("train", 1)[1]  # no absolute machine paths
    load = dqn.load if "dqn" in name else td3.load
    net = load(ASSETS / f"{name}.pt")
    policy = dqn.greedy_policy(net) if "dqn" in name else td3.greedy_policy(net)
    got = rl_env.evaluate(policy, card["env_id"], 5)  # the card's first 5 evaluation episodes
    assert got.mean() >= bound - 50


def test_value_iteration_converges_to_shortest_path_values():
    grid = np.array([[4, 0, 0, 2]])
    sweeps = list(gw.value_iteration(grid, 0.9))
    v = sweeps[-1].v
    np.testing.assert_allclose(v[0, :3], [0.81, 0.9, 1.0], atol=1e-6)
    assert sweeps[-1].delta < 1e-4
    assert list(gw.greedy(gw.q_from_v(grid, v, 0.9), grid)[0, :3]) == [1, 1, 1]  # all "right"
    b = gw.analyse(grid, (0, 1), 0.9, v=v)
    assert b.best == 1 and b.terms[1].next_cell == (0, 2) and b.new == pytest.approx(0.9)


def test_q_learning_learns_the_default_grid():
    rng = np.random.default_rng(0)
    grid = gw.DEFAULT
    q = np.zeros((*grid.shape, 4))
    for _ in range(300):
        q = gw.q_episode(grid, q, 0.5, 0.9, 0.2, rng).q
    ep = gw.q_episode(grid, q, 0.5, 0.9, 0.0, rng)
    assert ep.ret == 1.0 and ep.steps == 12  # the shortest path
    b = gw.analyse(grid, (5, 0), 0.9, q=q, alpha=0.5)
    assert b.new == pytest.approx(b.old + 0.5 * (b.terms[b.best].total - b.old))


def test_bad_grids_get_clear_messages():
    assert "all walls" in gw.validate(np.ones((3, 3), int), 0.9)
    g = np.array([[4, 1, 2]])
    assert "no path" in gw.validate(g, 0.9)
    assert "gamma = 1" in gw.validate(np.array([[4, 0, 0]]), 1.0)
    assert "no path" in gw.validate(np.array([[4, 0, 0]]), 0.9)
    assert "start" in gw.validate(np.array([[0, 0, 2]]), 0.9)
    assert gw.validate(gw.DEFAULT, 1.0) is None
