"""DQN: Mnih et al. 2015, "Human-level control through deep reinforcement learning" (Nature 518).

One file, CleanRL-style: a Q-network, a replay buffer, epsilon-greedy acting, the TD target from a
target network, and a training generator that reports what it did. DQN is known to collapse after
it has solved CartPole, so training keeps the BEST greedy-evaluated network, not the last one.
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


@dataclass(frozen=True)
class DQNConfig:
    env_id: str = "CartPole-v1"
    obs_dim: int = 4  # CartPole: cart position, cart velocity, pole angle, pole angular velocity
    n_actions: int = 2  # push left, push right
    hidden: int = 64  # width of both hidden layers
    total_steps: int = 60_000  # environment steps at most
    lr: float = 1e-3  # Adam
    gamma: float = 0.99  # discount
    buffer_size: int = 50_000  # replay buffer capacity (transitions)
    batch_size: int = 64  # transitions per gradient step
    learning_starts: int = 1_000  # random steps before the first gradient step
    train_every: int = 1  # environment steps per gradient step
    target_every: int = 500  # copy the online network into the target network every N steps
    eps_start: float = 1.0  # epsilon at step 0 ...
    eps_end: float = 0.05  # ... decays linearly to this
    eps_decay_steps: int = 10_000  # ... over this many steps
    eval_every: int = 2_000  # greedy evaluation every N steps (the best network is kept)
    eval_episodes: int = 5  # episodes per greedy evaluation
    stop_at: float | None = 490.0  # stop once the greedy evaluation reaches this (None: run all steps)
    max_seconds: float | None = None  # wall-clock budget (None: none)
    seed: int = 1


class QNetwork(nn.Module):
    def __init__(self, cfg: DQNConfig):
        super().__init__()
        self.cfg = cfg
        self.net = nn.Sequential(nn.Linear(cfg.obs_dim, cfg.hidden), nn.ReLU(),
                                 nn.Linear(cfg.hidden, cfg.hidden), nn.ReLU(),
                                 nn.Linear(cfg.hidden, cfg.n_actions))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:  # (B, obs_dim) -> (B, n_actions)
        return self.net(obs)


def load(path, device=torch.device("cpu")) -> QNetwork:
    return checkpoints.load(path, lambda c: QNetwork(DQNConfig(**c)), device)


class Batch(NamedTuple):
    obs: torch.Tensor  # (B, obs_dim)
    actions: torch.Tensor  # (B,) int64
    rewards: torch.Tensor  # (B,)
    next_obs: torch.Tensor  # (B, obs_dim)
    terminated: torch.Tensor  # (B,) 1.0 where the episode ended for real (not a time limit)


class ReplayBuffer:
    """A ring buffer of transitions (s, a, r, s', terminated) in numpy arrays."""

    def __init__(self, capacity: int, obs_dim: int, act_shape: tuple = (), act_dtype=np.int64):
        self.obs = np.zeros((capacity, obs_dim), np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), np.float32)
        self.actions = np.zeros((capacity, *act_shape), act_dtype)
        self.rewards = np.zeros(capacity, np.float32)
        self.terminated = np.zeros(capacity, np.float32)
        self.capacity, self.pos, self.size = capacity, 0, 0

    def add(self, obs, action, reward, next_obs, terminated) -> None:
        i = self.pos
        self.obs[i], self.actions[i], self.rewards[i] = obs, action, reward
        self.next_obs[i], self.terminated[i] = next_obs, float(terminated)
        self.pos, self.size = (i + 1) % self.capacity, min(self.size + 1, self.capacity)

    def sample(self, n: int, rng: np.random.Generator) -> Batch:
        idx = rng.integers(0, self.size, n)
        t = torch.from_numpy
        return Batch(t(self.obs[idx]), t(self.actions[idx]), t(self.rewards[idx]), t(self.next_obs[idx]),
                     t(self.terminated[idx]))


def epsilon(cfg: DQNConfig, step: int) -> float:
    """Linear decay from eps_start to eps_end over eps_decay_steps, then flat."""
    frac = min(step / max(cfg.eps_decay_steps, 1), 1.0)
    return cfg.eps_start + frac * (cfg.eps_end - cfg.eps_start)


@torch.no_grad()
def td_target(target_net: nn.Module, rewards: torch.Tensor, next_obs: torch.Tensor, terminated: torch.Tensor,
              gamma: float) -> torch.Tensor:
    """y = r + gamma * (1 - terminated) * max_a' Q_target(s', a')   (B,)"""
    next_q = target_net(next_obs).max(dim=1).values  # (B,)
    return rewards + gamma * (1.0 - terminated) * next_q


def td_loss(q_net: nn.Module, target_net: nn.Module, b: Batch, gamma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Huber loss between Q(s, a) and the TD target; also returns Q(s, a) (B,)."""
    q_sa = q_net(b.obs).gather(1, b.actions[:, None]).squeeze(1)  # (B,)
    return F.smooth_l1_loss(q_sa, td_target(target_net, b.rewards, b.next_obs, b.terminated, gamma)), q_sa


def greedy_policy(q_net: nn.Module):
    def act(obs: np.ndarray) -> int:
        with torch.no_grad():
            return int(q_net(torch.from_numpy(obs)[None]).argmax())
    return act


def state_dict_np(model: nn.Module) -> dict:
    """Weights as numpy arrays: small, and pickled safely across processes."""
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def from_state(cfg: DQNConfig, state: dict) -> QNetwork:
    q = QNetwork(cfg)
    q.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})
    return q.eval()


class Event(NamedTuple):
    step: int  # environment steps so far
    returns: tuple  # (step, return) of the episodes that ended since the last event
    epsilon: float
    buffer_fill: int  # transitions in the replay buffer
    loss: float | None  # mean TD loss since the last event (None before learning starts)
    q_mean: float | None  # mean Q(s, a) of the sampled batches
    updates: int  # gradient steps since the last event
    target_syncs: int  # target-network copies since the last event
    eval_return: float | None  # greedy evaluation at this step, when one ran
    best: float  # best greedy evaluation so far
    checkpoint: dict | None  # numpy state dict of the network just evaluated
    seconds: float  # wall-clock seconds since training started
    done: bool = False  # the last event


def train(cfg: DQNConfig, report_every: int = 500) -> Iterator[Event]:
    """Train from scratch; yields an ``Event`` every ``report_every`` steps and after every evaluation.
    The last event has done=True and carries the best network's weights in ``checkpoint``."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    env = rl_env.SeededEnv(cfg.env_id, cfg.seed)
    q_net = QNetwork(cfg)
    target_net = copy.deepcopy(q_net)
    opt = torch.optim.Adam(q_net.parameters(), lr=cfg.lr)
    buf = ReplayBuffer(cfg.buffer_size, cfg.obs_dim)
    best, best_state = -float("inf"), state_dict_np(q_net)
    returns, losses, qs, syncs, ep_ret = [], [], [], 0, 0.0
    t0 = time.perf_counter()
    obs = env.reset()
    for step in range(1, cfg.total_steps + 1):
        eps = epsilon(cfg, step)
        if rng.random() < eps:
            action = int(rng.integers(cfg.n_actions))  # explore
        else:
            with torch.no_grad():
                action = int(q_net(torch.from_numpy(obs)[None]).argmax())  # (1, n_actions) -> greedy
        next_obs, reward, terminated, truncated = env.step(action)
        buf.add(obs, action, reward, next_obs, terminated)
        obs, ep_ret = next_obs, ep_ret + reward
        if terminated or truncated:
            returns.append((step, ep_ret))
            obs, ep_ret = env.reset(), 0.0
        if step > cfg.learning_starts and step % cfg.train_every == 0:
            loss, q_sa = td_loss(q_net, target_net, buf.sample(cfg.batch_size, rng), cfg.gamma)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(q_net.parameters(), 10.0)
            opt.step()
            losses.append(loss.item())
            qs.append(q_sa.mean().item())
        if step % cfg.target_every == 0:
            target_net.load_state_dict(q_net.state_dict())
            syncs += 1
        evaluated = step % cfg.eval_every == 0
        seconds = time.perf_counter() - t0
        out_of_time = cfg.max_seconds is not None and seconds > cfg.max_seconds
        last = step == cfg.total_steps or out_of_time
        if evaluated or step % report_every == 0 or last:
            ev_ret, ckpt = None, None
            if evaluated or last:
                q_net.eval()
                ev_ret = float(rl_env.evaluate(greedy_policy(q_net), cfg.env_id, cfg.eval_episodes,
                                               seed=rl_env.episode_seed(cfg.seed + 1, step)).mean())
                ckpt = state_dict_np(q_net)
                if ev_ret > best:
                    best, best_state = ev_ret, ckpt
            last = last or (cfg.stop_at is not None and ev_ret is not None and ev_ret >= cfg.stop_at)
            yield Event(step, tuple(returns), eps, buf.size, float(np.mean(losses)) if losses else None,
                        float(np.mean(qs)) if qs else None, len(losses), syncs, ev_ret, best, ckpt,
                        time.perf_counter() - t0)
            returns, losses, qs, syncs = [], [], [], 0
            if last:
                break
    env.close()
    yield Event(step, (), epsilon(cfg, step), buf.size, None, None, 0, 0, None, best, best_state,
                time.perf_counter() - t0, done=True)


class QSlice(NamedTuple):
    angles: np.ndarray  # (A,) pole angle in radians
    velocities: np.ndarray  # (V,) pole angular velocity in rad/s
    q: np.ndarray  # (V, A, n_actions) Q-values with cart position and velocity held at 0
    greedy: np.ndarray  # (V, A) argmax action


@torch.no_grad()
def analyse(q_net: QNetwork, n: int = 41, max_angle: float = 0.21, max_velocity: float = 2.0) -> QSlice:
    """Q-values over a slice of the state space: pole angle x angular velocity, cart at rest in the middle."""
    angles = np.linspace(-max_angle, max_angle, n, dtype=np.float32)
    vels = np.linspace(-max_velocity, max_velocity, n, dtype=np.float32)
    va, aa = np.meshgrid(vels, angles, indexing="ij")  # (V, A)
    obs = np.stack([np.zeros_like(aa), np.zeros_like(aa), aa, va], axis=-1).reshape(-1, 4)  # (V*A, 4)
    q = q_net(torch.from_numpy(obs)).numpy().reshape(n, n, -1)  # (V, A, n_actions)
    return QSlice(angles, vels, q, q.argmax(-1))
