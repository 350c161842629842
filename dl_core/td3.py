"""TD3: Fujimoto, van Hoof, Meger 2018, "Addressing Function Approximation Error in Actor-Critic Methods".

The course's algorithm, CleanRL-style in one file. TD3 is DDPG (Lillicrap et al. 2016) plus three fixes:
1. twin critics: the TD target uses min(Q1', Q2'), against DDPG's overestimation;
2. target-policy smoothing: clipped noise on the target action, so Q cannot exploit sharp peaks;
3. policy delay: the actor and the target networks update once per ``policy_delay`` critic updates.
``ddpg=True`` switches all three off (one critic, no smoothing, delay 1): plain DDPG.
Target networks follow their online networks slowly: theta' <- tau * theta + (1 - tau) * theta'.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Iterator, NamedTuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from dl_core import checkpoints, rl_env
from dl_core.checkpoints import count_params, save  # noqa: F401  (re-exported)
from dl_core.dqn import ReplayBuffer, state_dict_np


@dataclass(frozen=True)
class TD3Config:
    env_id: str = "Pendulum-v1"
    obs_dim: int = 3  # Pendulum: cos(angle), sin(angle), angular velocity
    act_dim: int = 1  # torque
    max_action: float = 2.0  # torque limit
    hidden: int = 64  # width of both hidden layers, actor and critics
    total_steps: int = 20_000  # environment steps at most (one episode = 200 steps)
    lr: float = 1e-3  # Adam, actor and critics
    gamma: float = 0.99  # discount
    tau: float = 0.005  # soft update of the target networks
    buffer_size: int = 100_000  # replay capacity (transitions)
    batch_size: int = 128  # transitions per update
    learning_starts: int = 1_000  # uniformly random actions before learning
    exploration_noise: float = 0.1  # Gaussian noise on the acting action, times max_action
    policy_noise: float = 0.2  # target-policy smoothing noise, times max_action (TD3 only)
    noise_clip: float = 0.5  # ... clipped to +-noise_clip * max_action
    policy_delay: int = 2  # critic updates per actor + target update (TD3 only)
    ddpg: bool = False  # True: one critic, no smoothing, no delay = DDPG
    eval_every: int = 2_000  # greedy evaluation every N steps (the best actor is kept)
    eval_episodes: int = 5
    stop_at: float | None = None  # stop once the greedy evaluation reaches this
    max_seconds: float | None = None  # wall-clock budget
    seed: int = 1


class Actor(nn.Module):
    def __init__(self, cfg: TD3Config):
        super().__init__()
        self.cfg = cfg
        self.net = nn.Sequential(nn.Linear(cfg.obs_dim, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, cfg.hidden),
                                 nn.ReLU(), nn.Linear(cfg.hidden, cfg.act_dim), nn.Tanh())

    def forward(self, obs: torch.Tensor) -> torch.Tensor:  # (B, obs_dim) -> (B, act_dim) in [-max, max]
        return self.net(obs) * self.cfg.max_action


class Critic(nn.Module):
    def __init__(self, cfg: TD3Config):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(cfg.obs_dim + cfg.act_dim, cfg.hidden), nn.ReLU(),
                                 nn.Linear(cfg.hidden, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, 1))

    def forward(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:  # (B, obs), (B, act) -> (B,)
        return self.net(torch.cat([obs, act], dim=1)).squeeze(1)


def load(path, device=torch.device("cpu")) -> Actor:
    return checkpoints.load(path, lambda c: Actor(TD3Config(**c)), device)


def soft_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """theta' <- tau * theta + (1 - tau) * theta'   (Polyak averaging, in place)"""
    with torch.no_grad():
        for pt, p in zip(target.parameters(), source.parameters()):
            pt.mul_(1.0 - tau).add_(p, alpha=tau)


@torch.no_grad()
def td_target(cfg: TD3Config, actor_t: Actor, critics_t: list, rewards: torch.Tensor, next_obs: torch.Tensor,
              terminated: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
    """y = r + gamma * (1 - terminated) * min_i Q_i'(s', clip(pi'(s') + clip(noise)))   (B,)
    ``noise`` (B, act_dim), standard normal; None draws it. DDPG: one critic, no noise."""
    a_next = actor_t(next_obs)  # (B, act_dim)
    if not cfg.ddpg:
        if noise is None:
            noise = torch.randn_like(a_next)
        eps = (noise * cfg.policy_noise * cfg.max_action).clamp(-cfg.noise_clip * cfg.max_action,
                                                                  cfg.noise_clip * cfg.max_action)
        a_next = (a_next + eps).clamp(-cfg.max_action, cfg.max_action)
    q_next = torch.stack([c(next_obs, a_next) for c in critics_t]).min(dim=0).values  # (n_critics, B) -> (B,)
    return rewards + cfg.gamma * (1.0 - terminated) * q_next


def greedy_policy(actor: Actor):
    def act(obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return actor(torch.from_numpy(obs)[None])[0].numpy()
    return act


def from_state(cfg: TD3Config, state: dict) -> Actor:
    a = Actor(cfg)
    a.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})
    return a.eval()


class Event(NamedTuple):
    step: int  # environment steps so far
    returns: tuple  # (step, return) of the episodes that ended since the last event
    critic_loss: float | None  # mean critic loss since the last event
    actor_loss: float | None  # mean actor loss (-Q1(s, pi(s))) since the last event
    q_mean: float | None  # mean Q1(s, a) of the sampled batches
    critic_updates: int  # since the last event
    actor_updates: int  # actor + soft target updates since the last event (fewer: policy delay)
    buffer_fill: int
    eval_return: float | None  # greedy evaluation at this step, when one ran
    best: float
    checkpoint: dict | None  # numpy state dict of the actor just evaluated
    seconds: float
    done: bool = False


def train(cfg: TD3Config, report_every: int = 500) -> Iterator[Event]:
    """Train from scratch; yields an ``Event`` every ``report_every`` steps and after every evaluation.
    The last event has done=True and carries the best actor's weights."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    env = rl_env.SeededEnv(cfg.env_id, cfg.seed)
    actor = Actor(cfg)
    critics = [Critic(cfg) for _ in range(1 if cfg.ddpg else 2)]
    actor_t, critics_t = copy.deepcopy(actor), [copy.deepcopy(c) for c in critics]
    actor_opt = torch.optim.Adam(actor.parameters(), lr=cfg.lr)
    critic_opt = torch.optim.Adam([p for c in critics for p in c.parameters()], lr=cfg.lr)
    buf = ReplayBuffer(cfg.buffer_size, cfg.obs_dim, (cfg.act_dim,), np.float32)
    delay = 1 if cfg.ddpg else cfg.policy_delay
    best, best_state = -float("inf"), state_dict_np(actor)
    returns, c_losses, a_losses, qs, ep_ret, n_updates = [], [], [], [], 0.0, 0
    t0 = time.perf_counter()
    obs = env.reset()
    for step in range(1, cfg.total_steps + 1):
        if step <= cfg.learning_starts:
            action = rng.uniform(-cfg.max_action, cfg.max_action, cfg.act_dim).astype(np.float32)
        else:
            with torch.no_grad():
                action = actor(torch.from_numpy(obs)[None])[0].numpy()  # (act_dim,)
            action = np.clip(action + rng.normal(0, cfg.exploration_noise * cfg.max_action, cfg.act_dim),
                             -cfg.max_action, cfg.max_action).astype(np.float32)
        next_obs, reward, terminated, truncated = env.step(action)
        buf.add(obs, action, reward, next_obs, terminated)
        obs, ep_ret = next_obs, ep_ret + reward
        if terminated or truncated:
            returns.append((step, ep_ret))
            obs, ep_ret = env.reset(), 0.0
        if step > cfg.learning_starts:
            b = buf.sample(cfg.batch_size, rng)
            y = td_target(cfg, actor_t, critics_t, b.rewards, b.next_obs, b.terminated)  # (B,)
            q_sa = [c(b.obs, b.actions) for c in critics]  # n_critics x (B,)
            critic_loss = sum(F.mse_loss(q, y) for q in q_sa)
            critic_opt.zero_grad(set_to_none=True)
            critic_loss.backward()
            critic_opt.step()
            c_losses.append(critic_loss.item())
            qs.append(q_sa[0].mean().item())
            n_updates += 1
            if n_updates % delay == 0:
                actor_loss = -critics[0](b.obs, actor(b.obs)).mean()  # ascend Q1(s, pi(s))
                actor_opt.zero_grad(set_to_none=True)
                actor_loss.backward()
                actor_opt.step()
                a_losses.append(actor_loss.item())
                soft_update(actor_t, actor, cfg.tau)
                for ct, c in zip(critics_t, critics):
                    soft_update(ct, c, cfg.tau)
        evaluated = step % cfg.eval_every == 0
        seconds = time.perf_counter() - t0
        last = step == cfg.total_steps or (cfg.max_seconds is not None and seconds > cfg.max_seconds)
        if evaluated or step % report_every == 0 or last:
            ev_ret, ckpt = None, None
            if evaluated or last:
                ev_ret = float(rl_env.evaluate(greedy_policy(actor), cfg.env_id, cfg.eval_episodes,
                                               seed=rl_env.episode_seed(cfg.seed + 1, step)).mean())
                ckpt = state_dict_np(actor)
                if ev_ret > best:
                    best, best_state = ev_ret, ckpt
            last = last or (cfg.stop_at is not None and ev_ret is not None and ev_ret >= cfg.stop_at)
            mean = (lambda v: float(np.mean(v)) if v else None)
            yield Event(step, tuple(returns), mean(c_losses), mean(a_losses), mean(qs), len(c_losses), len(a_losses),
                        buf.size, ev_ret, best, ckpt, time.perf_counter() - t0)
            returns, c_losses, a_losses, qs = [], [], [], []
            if last:
                break
    env.close()
    yield Event(step, (), None, None, None, 0, 0, buf.size, None, best, best_state, time.perf_counter() - t0, done=True)


class PolicySlice(NamedTuple):
    angles: np.ndarray  # (A,) pole angle in radians, 0 = upright
    velocities: np.ndarray  # (V,) angular velocity in rad/s
    torque: np.ndarray  # (V, A) the actor's torque


@torch.no_grad()
def analyse(actor: Actor, n: int = 41, max_velocity: float = 8.0) -> PolicySlice:
    """The learned policy over the whole state space of Pendulum: angle x angular velocity."""
    angles = np.linspace(-np.pi, np.pi, n, dtype=np.float32)
    vels = np.linspace(-max_velocity, max_velocity, n, dtype=np.float32)
    va, aa = np.meshgrid(vels, angles, indexing="ij")  # (V, A)
    obs = np.stack([np.cos(aa), np.sin(aa), va], axis=-1).reshape(-1, 3)  # (V*A, 3)
    return PolicySlice(angles, vels, actor(torch.from_numpy(obs)).numpy().reshape(n, n))
