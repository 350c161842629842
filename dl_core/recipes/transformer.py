"""``python -m dl_core.train transformer``: the little encoder-decoder transformer of the transformer page,
trained to reverse digit strings (``dl_core.seq_tasks.TASK``), evaluated by exact match on held-out inputs."""
from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass, replace
from typing import Iterator, NamedTuple

import torch

from dl_core import transformer as tf
from dl_core.cards import ASSETS, write_card
from dl_core.device import pick_device
from dl_core.seq_tasks import TASK, ReverseDigits, exact_match


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 1500        # optimiser steps, one freshly generated batch each
    batch_size: int = 128    # (input, target) pairs per step
    lr: float = 2e-3         # peak AdamW learning rate
    warmup: int = 200        # linear warm-up steps, then cosine decay to 5% of the peak
    weight_decay: float = 0.01
    seed: int = 0            # seeds the initial weights and the data generator
    eval_size: int = 2000    # held-out inputs for the final exact match


class StepEvent(NamedTuple):
    step: int
    loss: float
    lr: float
    seconds: float


def lr_at(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def train_steps(model: tf.Seq2SeqTransformer, cfg: TrainConfig, task: ReverseDigits,
                device: torch.device) -> Iterator[StepEvent]:
    """Train in place on freshly generated training-split batches; yields after every step."""
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(0.9, 0.98))
    model.train()
    t0 = time.perf_counter()
    for step in range(cfg.steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        batch = task.batch(task.sample(cfg.batch_size, gen, split="train"), device)
        out = model(batch.src, batch.tgt_in)
        loss = tf.sequence_loss(out.logits, batch.tgt_out)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        yield StepEvent(step + 1, loss.item(), lr_at(step, cfg), time.perf_counter() - t0)
    model.eval()


@torch.no_grad()
def evaluate(model: tf.Seq2SeqTransformer, pairs: list[tuple[str, str]], task: ReverseDigits,
             device: torch.device, use_positions: bool = True, chunk: int = 500) -> float:
    """Exact match of greedy decoding on ``pairs``."""
    preds = []
    for i in range(0, len(pairs), chunk):
        part = pairs[i:i + chunk]
        src = task.batch(part, device).src
        out = tf.greedy_batch(model, src, task.max_len + 2, use_positions)
        preds += [task.vocab.decode(row) for row in out.tolist()]
    return exact_match(preds, [t for _, t in pairs])


def per_length(model, task: ReverseDigits, device, seed: int, n: int = 100) -> dict[str, float]:
    gen = torch.Generator().manual_seed(seed)
    return {str(k): evaluate(model, task.sample(n, gen, split="test", length=k), task, device)
            for k in range(task.min_len, task.max_len + 1)}


def register(sub) -> None:
    c = sub.add_parser("transformer", help="the encoder-decoder transformer that reverses digit strings")
    c.add_argument("--steps", type=int)
    c.add_argument("--batch-size", dest="batch_size", type=int)
    c.add_argument("--lr", type=float)
    c.add_argument("--seed", type=int)
    c.add_argument("--d-model", dest="d_model", type=int, default=64)
    c.add_argument("--heads", type=int, default=4)
    c.add_argument("--layers", type=int, default=2)
    c.add_argument("--d-ff", dest="d_ff", type=int, default=128)
    c.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    c.add_argument("--out", default="transformer", help="asset name (default: transformer)")
    c.set_defaults(run=run)


def run(args) -> dict:
    device = pick_device()
    if args.threads:
        torch.set_num_threads(args.threads)
    overrides = {k: getattr(args, k) for k in ("steps", "batch_size", "lr", "seed") if getattr(args, k) is not None}
    cfg = replace(TrainConfig(), **overrides)
    model_cfg = tf.TransformerConfig(vocab_size=len(TASK.vocab), d_model=args.d_model, n_heads=args.heads,
                                     n_layers=args.layers, d_ff=args.d_ff)
    torch.manual_seed(cfg.seed)  # the initial weights
    model = tf.Seq2SeqTransformer(model_cfg).to(device)
    history = []
    for ev in train_steps(model, cfg, TASK, device):
        if ev.step % 250 == 0 or ev.step == cfg.steps:
            history.append({"step": ev.step, "loss": round(ev.loss, 5), "lr": round(ev.lr, 6)})
            sys.stderr.write(f"step {ev.step}/{cfg.steps}: loss {ev.loss:.4f} lr {ev.lr:.5f} [{ev.seconds:.0f} s]\n")
    train_time = ev.seconds
    eval_gen = torch.Generator().manual_seed(10_000 + cfg.seed)  # a different stream from training
    held_out = TASK.sample(cfg.eval_size, eval_gen, split="test")
    em = evaluate(model, held_out, TASK, device)
    em_no_pos = evaluate(model, held_out, TASK, device, use_positions=False)
    model = model.cpu()
    tf.save(model, ASSETS / f"{args.out}.pt")
    card = {
        "model": type(model).__name__,
        "config": asdict(model_cfg),
        "train_config": asdict(cfg),
        "parameters": tf.count_params(model),
        "data": {"task": TASK.name, "description": TASK.describe(), "vocabulary": list(TASK.vocab.itos),
                 "train_pairs_seen": cfg.steps * cfg.batch_size, "eval_pairs": cfg.eval_size,
                 "eval_seed": 10_000 + cfg.seed},
        "steps": cfg.steps,
        "exact_match": em,
        "exact_match_without_positions": em_no_pos,
        "exact_match_by_length": per_length(model, TASK, torch.device("cpu"), 20_000 + cfg.seed),
        "final_loss": history[-1]["loss"],
        "history": history,
        "train_time_s": round(train_time, 1),
        "device": device.type,
    }
    write_card(args.out, card)
    return {"name": args.out, **card, "test_accuracy": em}
