"""Seeded gymnasium environments, greedy evaluation, rendered episodes and GIF bytes.

Every episode is seeded: ``episode_seed(base, k)`` gives episode k its own seed, so a training run,
an evaluation and a rendered episode repeat exactly. Frames are rendered headless
(``SDL_VIDEODRIVER=dummy``, set before gymnasium imports pygame).
"""
from __future__ import annotations

import io
import os
from typing import Callable, NamedTuple

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # pygame renders into memory, no display needed
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

EVAL_SEED = 1_000_000  # evaluation episodes use seeds EVAL_SEED + k: never seen in training
Policy = Callable[[np.ndarray], "int | np.ndarray"]  # observation -> action


class Episode(NamedTuple):
    ret: float  # sum of rewards
    length: int  # steps
    observations: np.ndarray  # (T, obs_dim), the states seen
    actions: np.ndarray  # (T,) or (T, act_dim)
    frames: np.ndarray | None  # (F, H, W, 3) uint8 when rendered


def make(env_id: str, render: bool = False) -> gym.Env:
    return gym.make(env_id, render_mode="rgb_array" if render else None)


def episode_seed(base: int, k: int) -> int:
    return int(base) * 7919 + int(k)  # distinct for every (run seed, episode) pair we use


class SeededEnv:
    """A gymnasium env whose k-th episode is reset with ``episode_seed(seed, k)``: reproducible."""

    def __init__(self, env_id: str, seed: int):
        self.env, self.seed, self.episodes = make(env_id), int(seed), 0
        self.env.action_space.seed(int(seed))

    def reset(self) -> np.ndarray:
        obs, _ = self.env.reset(seed=episode_seed(self.seed, self.episodes))
        self.episodes += 1
        return obs.astype(np.float32)

    def step(self, action):
        obs, reward, terminated, truncated, _ = self.env.step(action)
        return obs.astype(np.float32), float(reward), bool(terminated), bool(truncated)

    @property
    def observation_space(self):
        return self.env.observation_space

    @property
    def action_space(self):
        return self.env.action_space

    def close(self) -> None:
        self.env.close()


def run_episode(policy: Policy, env: gym.Env, seed: int, render: bool = False, frame_every: int = 1,
                max_frames: int = 300) -> Episode:
    obs, _ = env.reset(seed=int(seed))
    observations, actions, frames, ret, done = [], [], [], 0.0, False
    while not done:
        if render and len(observations) % frame_every == 0 and len(frames) < max_frames:
            frames.append(env.render())
        a = policy(obs.astype(np.float32))
        observations.append(obs)
        actions.append(a)
        obs, r, terminated, truncated, _ = env.step(a)
        ret += float(r)
        done = terminated or truncated
    return Episode(ret, len(actions), np.asarray(observations, np.float32), np.asarray(actions),
                   np.stack(frames) if frames else None)


def evaluate(policy: Policy, env_id: str, episodes: int, seed: int = EVAL_SEED) -> np.ndarray:
    """Returns of ``episodes`` greedy episodes on seeds seed, seed+1, ...: (episodes,)."""
    env = make(env_id)
    try:
        return np.array([run_episode(policy, env, seed + k).ret for k in range(episodes)], np.float32)
    finally:
        env.close()


def render_episode(policy: Policy, env_id: str, seed: int, frame_every: int = 2, max_frames: int = 250) -> Episode:
    env = make(env_id, render=True)
    try:
        return run_episode(policy, env, seed, render=True, frame_every=frame_every, max_frames=max_frames)
    finally:
        env.close()


def shrink(frames: np.ndarray, factor: int = 2) -> np.ndarray:
    """(F, H, W, 3) -> (F, H/factor, W/factor, 3) by keeping every factor-th pixel: smaller GIFs, fast."""
    return np.ascontiguousarray(frames[:, ::factor, ::factor])


def gif_bytes(frames: np.ndarray, fps: float = 25) -> bytes:
    """uint8 frames (F, H, W, 3) -> an animated GIF that loops."""
    from PIL import Image

    images = [Image.fromarray(f) for f in frames]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    return buf.getvalue()
