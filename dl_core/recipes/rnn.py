"""``python -m dl_core.train {brackets,remember,sine} --cell {rnn,gru,lstm}``: the shipped sequence models.

Each writes ``assets/rnn_<task>_<cell>.pt`` and its card. The data are generated in code from the
seed (``dl_core.rnn_tasks``); the held-out sequences come from their own seed (10,000 + seed).
"""
from __future__ import annotations

import sys
import time
from dataclasses import asdict, replace

import torch

from dl_core import rnn, rnn_tasks
from dl_core.cards import ASSETS, write_card
from dl_core.device import pick_device
from dl_core.rnn_train import (StepEvent, TrainConfig, accuracy_by_distance, evaluate, heldout, model_config,
                               train_steps, unit_scores)

# Per task: hidden units, the training recipe, what the card promises on held-out data.
RECIPES = {
    "brackets": (32, TrainConfig(steps=1600, batch_size=32, lr=0.01, seed=1)),
    "remember": (32, TrainConfig(steps=1000, batch_size=32, lr=0.003, seed=1)),
    "sine": (32, TrainConfig(steps=800, batch_size=32, lr=0.01, seed=1)),
}
TARGETS = {
    "brackets": "accuracy >= 0.99 (depth after every character, held-out sequences of 100 characters)",
    "remember": "accuracy >= 0.99 at the '?' for distances 40, 50 and 60 (worst of the three)",
    "sine": "mse_clean_after_warmup <= 0.01 (the training noise variance), next-value prediction",
}
CELL_DESCRIPTIONS = {"lstm": "LSTM cell written out gate by gate", "gru": "GRU cell written out gate by gate",
                     "rnn": "plain (Elman) tanh RNN cell"}
HELDOUT_SEED = 10_000  # plus the training seed
HELDOUT_N = 1000  # held-out sequences per measurement
DISTANCES = (1, 5, 10, 20, 30, 40, 50, 60)
DESCRIPTIONS = {
    "brackets": f"random streams of '(' ')' and {len(rnn_tasks.OTHER)} other characters, depth 0..{rnn_tasks.MAX_DEPTH}; "
                "target: the nesting depth after every character",
    "remember": f"a key {'/'.join(rnn_tasks.KEYS)}, D random lowercase letters, '?'; target: the key, scored at the '?'",
    "sine": f"sin(w t + phi) + N(0, {rnn_tasks.NOISE}^2), w in {rnn_tasks.OMEGA} rad/step, random phase; "
            "target: the next (noisy) value at every step",
}


def register(sub) -> None:
    for task, helptext in (("brackets", "RNN/LSTM that tracks bracket nesting depth"),
                           ("remember", "RNN/GRU/LSTM that recalls the first symbol after a long distraction"),
                           ("sine", "RNN/LSTM that predicts the next value of a noisy sine wave")):
        p = sub.add_parser(task, help=helptext)
        p.add_argument("--cell", choices=sorted(rnn.CELLS), default="lstm")
        p.add_argument("--hidden", type=int)
        p.add_argument("--steps", type=int)
        p.add_argument("--lr", type=float)
        p.add_argument("--seed", type=int)
        p.add_argument("--threads", type=int, default=1, help="torch threads (default 1: small models)")
        p.add_argument("--out", help=f"asset name (default: rnn_{task}_<cell>)")
        p.set_defaults(run=run, task=task)


def counting_unit(model: rnn.SeqModel, seed: int) -> dict:
    """The unit whose memory (c for the LSTM, h otherwise) correlates best with the depth, on held-out data."""
    b = heldout("brackets", seed, 200)
    with torch.no_grad():
        _, steps = model(b.x)
    scores = unit_scores("brackets", steps.c if model.cfg.cell == "lstm" else steps.h, b)
    best = int(scores.abs().argmax())
    return {"unit": best, "state": "c" if model.cfg.cell == "lstm" else "h",
            "correlation_with_depth": round(float(scores[best]), 4)}


def metrics(task: str, model: rnn.SeqModel, seed: int) -> dict:
    """The card's held-out numbers (also used by the tests with a different seed)."""
    if task == "remember":
        by_distance = accuracy_by_distance(model, DISTANCES, HELDOUT_N, seed)
        return {"test_accuracy": min(by_distance[d] for d in (40, 50, 60)),
                "accuracy_by_distance": by_distance, "chance": 1 / len(rnn_tasks.KEYS)}
    m = evaluate(model, heldout(task, seed, HELDOUT_N))
    if task == "brackets":
        return {"test_accuracy": m["accuracy"], **m, "counting_unit": counting_unit(model, seed)}
    return {"test_mse": m["mse_clean_after_warmup"], **m}


def run(args) -> dict:
    task = args.task
    device = pick_device()
    torch.set_num_threads(args.threads)
    hidden, cfg = RECIPES[task]
    hidden = args.hidden or hidden
    cfg = replace(cfg, **{k: getattr(args, k) for k in ("steps", "lr", "seed") if getattr(args, k) is not None})
    model_cfg = model_config(task, args.cell, hidden)
    steps = train_steps(task, model_cfg, cfg, device, report_every=100)
    model = next(steps)
    history = []
    t0 = time.perf_counter()
    for ev in steps:
        if isinstance(ev, StepEvent):
            history.append({"step": ev.step, "loss": round(ev.loss, 5), "acc": round(ev.acc, 4)})
            sys.stderr.write(f"{task}/{args.cell} step {ev.step}: loss {ev.loss:.4f} acc {ev.acc:.4f} "
                             f"[{ev.seconds:.0f} s]\n")
    train_time = time.perf_counter() - t0
    model = model.cpu().eval()
    name = args.out or f"rnn_{task}_{args.cell}"
    rnn.save(model, ASSETS / f"{name}.pt", {"task": task})
    seed = HELDOUT_SEED + cfg.seed
    example = heldout(task, seed + 40, HELDOUT_N, 40) if task == "remember" else heldout(task, seed, HELDOUT_N)
    card = {
        "model": f"SeqModel ({CELL_DESCRIPTIONS[args.cell]} + linear head at every step)",
        "task": task,
        "config": asdict(model_cfg),
        "train_config": asdict(cfg),
        "parameters": rnn.count_params(model),
        "data": {"generator": f"dl_core.rnn_tasks.{task}", "description": DESCRIPTIONS[task],
                 "train_sequences": cfg.steps * cfg.batch_size, "train_lengths": [cfg.min_len or
                 rnn_tasks.TASKS[task].lengths[0], cfg.max_len or rnn_tasks.TASKS[task].lengths[1]],
                 "heldout_seed": seed, "heldout_sequences": HELDOUT_N,
                 "heldout_sha256": rnn_tasks.checksum(example)},
        "target": TARGETS[task] if args.cell == "lstm" else "none: a comparison model, trained with the LSTM's recipe",
        **metrics(task, model, seed),
        "steps": cfg.steps,
        "history": history,
        "train_time_s": round(train_time, 1),
        "device": device.type,
    }
    write_card(name, card)
    return {"name": name, **card}
