"""``python -m dl_core.train seq2seq --variant {plain,attention}`` and ``python -m dl_core.train autoencoder``.

seq2seq: the GRU encoder-decoders of the encoder-decoder page, trained on the transformer page's task
(``dl_core.seq_tasks.TASK``: reverse a digit string), evaluated by exact match on held-out inputs.
autoencoder: the convolutional MNIST autoencoder with a 2-D bottleneck, plus the latent map asset.
"""
from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np
import torch

from dl_core import autoencoder as ae
from dl_core import data
from dl_core import seq2seq as s2s
from dl_core.cards import ASSETS, write_card
from dl_core.device import pick_device
from dl_core.seq_tasks import TASK, ReverseDigits, exact_match

VARIANTS = {
    "plain": s2s.Seq2SeqConfig(attention=False, bidirectional=False),
    "attention": s2s.Seq2SeqConfig(attention=True, bidirectional=True),
}


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 1500  # optimiser steps, one freshly generated training batch each
    batch_size: int = 256  # (input, target) pairs per step
    lr: float = 4e-3  # Adam learning rate, linearly decayed to 10% at the end
    seed: int = 0  # seeds the initial weights and the data generator
    eval_size: int = 2000  # held-out inputs for the final exact match


class StepEvent(NamedTuple):
    step: int
    loss: float
    seconds: float


def train_steps(model: s2s.Seq2Seq, cfg: TrainConfig, task: ReverseDigits, device) -> Iterator[StepEvent]:
    """Teacher-forced training in place on freshly generated training-split batches; yields each step."""
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    model.train()
    t0 = time.perf_counter()
    for step in range(cfg.steps):
        for group in opt.param_groups:
            group["lr"] = cfg.lr * (1 - 0.9 * step / cfg.steps)
        batch = task.batch(task.sample(cfg.batch_size, gen, split="train"), device)
        loss = s2s.loss_fn(model(batch.src, batch.tgt_in), batch.tgt_out)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        yield StepEvent(step, loss.item(), time.perf_counter() - t0)
    model.eval()


def evaluate(model: s2s.Seq2Seq, pairs: list[tuple[str, str]], device, task: ReverseDigits = TASK) -> float:
    """Exact match of greedy decoding on ``pairs``."""
    batch = task.batch(pairs, device)
    out = s2s.greedy_batch(model, batch.src, task.max_len + 2)
    return exact_match([task.vocab.decode(row) for row in out.tolist()], [t for _, t in pairs])


def by_length(model: s2s.Seq2Seq, n: int, seed: int, device, task: ReverseDigits = TASK) -> dict[int, float]:
    """Exact match per input length on ``n`` fresh held-out inputs of each length (one batched decode)."""
    gen = torch.Generator().manual_seed(seed)
    lengths = range(task.min_len, task.max_len + 1)
    pairs = [p for k in lengths for p in task.sample(n, gen, split="test", length=k)]
    out = s2s.greedy_batch(model, task.batch(pairs, device).src, task.max_len + 2)
    hits = [task.vocab.decode(row) == t for row, (_, t) in zip(out.tolist(), pairs)]
    return {k: sum(hits[i * n:(i + 1) * n]) / n for i, k in enumerate(lengths)}


def register(sub) -> None:
    c = sub.add_parser("seq2seq", help="GRU encoder-decoder reversing digit strings (with or without attention)")
    c.add_argument("--variant", choices=sorted(VARIANTS), default="attention")
    c.add_argument("--steps", type=int)
    c.add_argument("--hidden", type=int)
    c.add_argument("--seed", type=int)
    c.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    c.add_argument("--out", help="asset name (default: seq2seq_<variant>)")
    c.set_defaults(run=run)
    a = sub.add_parser("autoencoder", help="convolutional MNIST autoencoder with a 2-D bottleneck")
    a.add_argument("--epochs", type=int, default=4)
    a.add_argument("--train-images", dest="train_images", type=int, default=30000)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--data", help="folder with the MNIST files (default: $MNIST_DIR or data/mnist)")
    a.add_argument("--threads", type=int)
    a.set_defaults(run=run_autoencoder)


def run(args) -> dict:
    device = pick_device()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = replace(TrainConfig(), **{k: getattr(args, k) for k in ("steps", "seed") if getattr(args, k) is not None})
    model_cfg = VARIANTS[args.variant]
    if args.hidden:
        model_cfg = replace(model_cfg, hidden=args.hidden)
    model = s2s.build(model_cfg, cfg.seed).to(device)
    t0 = time.perf_counter()
    history = []
    for ev in train_steps(model, cfg, TASK, device):
        if ev.step % 100 == 0 or ev.step == cfg.steps - 1:
            history.append({"step": ev.step, "loss": round(ev.loss, 5)})
            sys.stderr.write(f"step {ev.step}: loss {ev.loss:.4f} [{ev.seconds:.0f} s]\n")
    train_time = time.perf_counter() - t0
    eval_seed = 10_000 + cfg.seed
    pairs = TASK.sample(cfg.eval_size, torch.Generator().manual_seed(eval_seed), split="test")
    name = args.out or f"seq2seq_{args.variant}"
    s2s.save(model.cpu(), ASSETS / f"{name}.pt")
    model.to(device)
    card = {
        "model": "Seq2Seq (GRU encoder-decoder" + (", additive attention)" if model_cfg.attention else ")"),
        "config": asdict(model_cfg),
        "train_config": asdict(cfg),
        "parameters": s2s.count_params(model),
        "data": {"task": TASK.name, "description": TASK.describe(), "vocabulary": list(TASK.vocab.itos),
                 "train_pairs_seen": cfg.steps * cfg.batch_size, "eval_pairs": cfg.eval_size, "eval_seed": eval_seed},
        "steps": cfg.steps,
        "exact_match": evaluate(model, pairs, device),
        "exact_match_by_length": by_length(model, 200, eval_seed + 1, device),
        "history": history,
        "train_time_s": round(train_time, 1),
        "device": device.type,
    }
    write_card(name, card)
    return {"name": name, "test_accuracy": card["exact_match"], **card}


def run_autoencoder(args) -> dict:
    device = pick_device()
    if args.threads:
        torch.set_num_threads(args.threads)
    folder = Path(args.data) if args.data else data.default_dir()
    train = data.load_split(True, folder)
    test = data.load_split(False, folder)
    cfg = ae.AEConfig()
    model = ae.build(cfg, args.seed).to(device)
    t0 = time.perf_counter()
    history = []
    for ev in ae.train_epochs(model, train.images[: args.train_images], args.epochs, args.seed, device):
        err = ae.reconstruction_error(model, test.images[:2000], device)
        history.append({"epoch": ev.epoch, "train_mse": round(ev.loss, 5), "test_mse": round(err, 5)})
        sys.stderr.write(f"epoch {ev.epoch}: train {ev.loss:.4f} test {err:.4f} [{ev.seconds:.0f} s]\n")
    train_time = time.perf_counter() - t0
    name = "autoencoder"
    ae.save(model.cpu(), ASSETS / f"{name}.pt")
    model.to(device)
    z = ae.encode_images(model, test.images[:2000], device)  # (2000, 2) the latent map of the page
    np.savez_compressed(ASSETS / "autoencoder_latents.npz", z=z.astype(np.float16),
                        labels=test.labels[:2000].numpy().astype(np.uint8))
    card = {
        "model": "ConvAutoencoder", "config": asdict(cfg), "parameters": ae.count_params(model),
        "data": {"dataset": "MNIST (official IDX files)", "sha256_of_decompressed_files": data.checksum(folder),
                 "train_images": args.train_images, "test_images": len(test.labels)},
        "epochs": args.epochs, "seed": args.seed,
        "test_mse": ae.reconstruction_error(model, test.images, device),
        "history": history, "latent_asset": "autoencoder_latents.npz (first 2,000 test images)",
        "train_time_s": round(train_time, 1), "device": device.type,
    }
    write_card(name, card)
    return {"name": name, **card}
