"""``python -m dl_core.train rl-dqn`` and ``python -m dl_core.train rl-td3``: the shipped RL agents.

Each writes ``assets/<name>.pt`` (the best greedy-evaluated network, config + weights),
``assets/<name>_history.npz`` (the training curves and the network at every evaluation, for the
page's checkpoint picker) and ``assets/<name>.json`` (the card). ``eval_return_mean`` on the card is
the mean return of 100 greedy episodes on fresh seeds (``rl_env.EVAL_SEED`` + k), never seen in training.
"""
from __future__ import annotations

import sys
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from dl_core import dqn, rl_env, td3
from dl_core.cards import ASSETS, write_card

DQN_NAME, TD3_NAME = "rl_dqn_cartpole", "rl_td3_pendulum"
DQN_RECIPE = dqn.DQNConfig(total_steps=100_000, eval_every=2_000, eval_episodes=10, stop_at=500.0, seed=1)
TD3_RECIPE = td3.TD3Config(total_steps=20_000, eval_every=1_000, eval_episodes=10, seed=1)
# "Train your own" on the page: bounded presets (the README reports 5 seeds of each)
LIVE_DQN = dqn.DQNConfig(total_steps=60_000, eval_every=2_000, eval_episodes=5, stop_at=490.0, max_seconds=150.0)
LIVE_TD3 = td3.TD3Config(total_steps=12_000, eval_every=1_000, eval_episodes=5, max_seconds=150.0)
LIVE_GOAL = {"CartPole-v1": 475.0, "Pendulum-v1": -250.0}  # the greedy evaluation the presets should reach
TARGET = {DQN_NAME: 475.0, TD3_NAME: -200.0}
EVAL_EPISODES = 100
STAT_FIELDS = ("step", "epsilon", "buffer_fill", "loss", "q_mean", "critic_loss", "actor_loss")


def register(sub) -> None:
    for name, help_ in (("rl-dqn", "DQN on CartPole-v1 (the best greedy-evaluated Q-network)"),
                        ("rl-td3", "TD3 on Pendulum-v1, the course's algorithm (--ddpg: plain DDPG)")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--steps", type=int, help="environment steps at most")
        p.add_argument("--seed", type=int)
        p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
        p.add_argument("--out", type=Path, default=ASSETS, help="folder for the weights, history and card")
        if name == "rl-td3":
            p.add_argument("--ddpg", action="store_true", help="switch off TD3's three additions")
        p.set_defaults(run=run_dqn if name == "rl-dqn" else run_td3)


def history_arrays(events: list) -> dict:
    """Episode returns, evaluation curve and every evaluated network as flat numpy arrays."""
    rets = np.array([r for e in events for r in e.returns], np.float32).reshape(-1, 2)  # (episodes, [step, return])
    evals = [e for e in events if e.eval_return is not None]
    out = {"episodes": rets, "evals": np.array([[e.step, e.eval_return] for e in evals], np.float32)}
    for f in STAT_FIELDS:  # per-report statistics (NaN where none), e.g. stat_loss (R,) with stat_step
        if f in events[0]._fields:
            out[f"stat_{f}"] = np.array([np.nan if getattr(e, f) is None else getattr(e, f) for e in events[:-1]], np.float32)
    for e in evals:
        out.update({f"ckpt{e.step}/{k}": v.astype(np.float32) for k, v in e.checkpoint.items()})
    return out


def read_history(path: Path) -> tuple[np.ndarray, np.ndarray, dict[int, dict], dict]:
    """(episodes (N, 2), evals (E, 2), {step: state dict}, {stat: (R,)}) from a ``*_history.npz``."""
    with np.load(path) as f:
        stats = {k[5:]: f[k] for k in f.files if k.startswith("stat_")}
        ckpts: dict[int, dict] = {}
        for key in f.files:
            if key.startswith("ckpt"):
                step, param = key[4:].split("/", 1)
                ckpts.setdefault(int(step), {})[param] = f[key]
        return f["episodes"], f["evals"], ckpts, stats


def finish(name: str, model, cfg, events: list, policy, out: Path, extra: dict) -> dict:
    returns = rl_env.evaluate(policy, cfg.env_id, EVAL_EPISODES)
    model.cfg = cfg
    dqn.save(model, out / f"{name}.pt")
    np.savez_compressed(out / f"{name}_history.npz", **history_arrays(events))
    done = events[-1]
    card = {
        "model": extra.pop("model"), "env_id": cfg.env_id, "config": asdict(cfg),
        "parameters": dqn.count_params(model), "seed": cfg.seed,
        "steps": done.step, "train_time_s": round(done.seconds, 1),
        "best_training_eval": round(done.best, 2),
        "eval_return_mean": round(float(returns.mean()), 2), "eval_return_std": round(float(returns.std()), 2),
        "eval_return_min": round(float(returns.min()), 2),
        "eval": {"episodes": EVAL_EPISODES, "seeds": f"{rl_env.EVAL_SEED} .. {rl_env.EVAL_SEED + EVAL_EPISODES - 1}",
                 "policy": "greedy (no exploration noise)"},
        "target": {"eval_return_mean_at_least": TARGET[name]},
        "meets_target": bool(returns.mean() >= TARGET[name]),
        "history": f"assets/{name}_history.npz", **extra,
    }
    write_card(name, card, out)
    return {"name": name, "eval_return_mean": card["eval_return_mean"], "train_time_s": card["train_time_s"]}


def _train(gen, every: int = 5_000) -> list:
    events = []
    for ev in gen:
        events.append(ev)
        if ev.eval_return is not None and ev.step % every == 0:
            sys.stderr.write(f"step {ev.step}: greedy return {ev.eval_return:.1f} (best {ev.best:.1f}) [{ev.seconds:.0f} s]\n")
    return events


def run_dqn(args) -> dict:
    torch.set_num_threads(args.threads)
    cfg = replace(DQN_RECIPE, **{k: v for k, v in (("total_steps", args.steps), ("seed", args.seed)) if v is not None})
    events = _train(dqn.train(cfg))
    q = dqn.from_state(cfg, events[-1].checkpoint)
    return finish(DQN_NAME, q, cfg, events, dqn.greedy_policy(q), args.out,
                  {"model": "DQN Q-network (dl_core.dqn.QNetwork), the best greedy-evaluated one"})


def run_td3(args) -> dict:
    torch.set_num_threads(args.threads)
    over = {k: v for k, v in (("total_steps", args.steps), ("seed", args.seed)) if v is not None}
    cfg = replace(TD3_RECIPE, ddpg=args.ddpg, **over)
    events = _train(td3.train(cfg))
    actor = td3.from_state(cfg, events[-1].checkpoint)
    name = TD3_NAME if not args.ddpg else "rl_ddpg_pendulum"
    TARGET.setdefault(name, TARGET[TD3_NAME])
    return finish(name, actor, cfg, events, td3.greedy_policy(actor), args.out,
                  {"model": f"{'DDPG' if args.ddpg else 'TD3'} actor (dl_core.td3.Actor), the best greedy-evaluated one"})
