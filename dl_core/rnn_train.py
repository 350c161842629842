"""Training and measuring the sequence models of ``dl_core.rnn`` on ``dl_core.rnn_tasks``.

``train_steps`` is a generator: it yields the model first, then a ``StepEvent`` every
``report_every`` steps; the caller (the command line or a page's background job) decides what to
show and when to stop. ``race_steps`` trains several cells in lockstep on identical batches
(RNN vs GRU vs LSTM). Adam (Kingma & Ba, 2015) with gradient-norm clipping (Pascanu et al., 2013).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator, NamedTuple

import torch
import torch.nn.functional as F

from dl_core import rnn_tasks
from dl_core.rnn import SeqConfig, SeqModel, build
from dl_core.rnn_tasks import IGNORE, TASKS, Batch, make_batch


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 2000  # gradient steps
    batch_size: int = 32  # sequences per step
    lr: float = 0.01  # Adam learning rate
    clip: float = 1.0  # largest gradient norm (clipped above it)
    seed: int = 1  # seeds the initial weights and every training batch
    min_len: int = 0  # shortest training length / distance (0 = the task's default)
    max_len: int = 0  # longest training length / distance (0 = the task's default)
    schedule: str = "cosine"  # "constant" or "cosine" (decay to 0 over the steps, Loshchilov & Hutter 2017)


class StepEvent(NamedTuple):
    step: int  # gradient steps done
    loss: float  # mean loss of the last ``report_every`` steps
    acc: float  # accuracy on those batches' scored steps (nan for regression)
    seconds: float  # wall time since training started


def model_config(task: str, cell: str, hidden: int) -> SeqConfig:
    t = TASKS[task]
    return SeqConfig(cell=cell, vocab=t.vocab, input_size=1, hidden=hidden, n_out=t.n_out)


def loss_and_acc(out: torch.Tensor, b: Batch) -> tuple[torch.Tensor, float]:
    """Cross-entropy over the scored steps (or MSE to the next value) and the accuracy there."""
    if out.shape[-1] == 1:  # regression
        return F.mse_loss(out[..., 0], b.y), float("nan")
    loss = F.cross_entropy(out.flatten(0, 1), b.y.flatten(), ignore_index=IGNORE)
    scored = b.y != IGNORE  # (B, T)
    acc = (out.argmax(-1) == b.y)[scored].float().mean().item()
    return loss, acc


def train_steps(task: str, model_cfg: SeqConfig, cfg: TrainConfig, device: torch.device,
                report_every: int = 50) -> Iterator:
    t = TASKS[task]
    lo, hi = cfg.min_len or t.lengths[0], cfg.max_len or t.lengths[1]
    gen = torch.Generator().manual_seed(cfg.seed)
    model = build(model_cfg, cfg.seed).to(device).train()
    yield model
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps) if cfg.schedule == "cosine" else None
    t0, losses, accs = time.perf_counter(), [], []
    for step in range(1, cfg.steps + 1):
        length = int(torch.randint(lo, hi + 1, (1,), generator=gen))
        b = to(make_batch(task, gen, cfg.batch_size, length), device)
        out, _ = model(b.x)  # (B, T, n_out)
        loss, acc = loss_and_acc(out, b)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        opt.step()
        if sched is not None:
            sched.step()
        losses.append(loss.item())
        accs.append(acc)
        if step % report_every == 0 or step == cfg.steps:
            yield StepEvent(step, sum(losses) / len(losses), sum(accs) / len(accs), time.perf_counter() - t0)
            losses, accs = [], []
    model.eval()


def to(b: Batch, device: torch.device) -> Batch:
    return Batch(*[None if v is None else v.to(device) for v in b])


def heldout(task: str, seed: int, n: int, length: int | None = None) -> Batch:
    """Fresh sequences from their own seed, never used in training: the longest training length."""
    return make_batch(task, torch.Generator().manual_seed(seed), n, length or TASKS[task].lengths[1])


@torch.no_grad()
def evaluate(model: SeqModel, b: Batch, warmup: int = 10) -> dict:
    """Classification: accuracy over the scored steps and over whole sequences. Regression: MSE to the
    next noisy value and to the next clean value, over all steps and after ``warmup`` steps."""
    device = next(model.parameters()).device
    b = to(b, device)
    out, _ = model(b.x)
    if out.shape[-1] == 1:
        pred = out[..., 0]  # (B, T)
        return {"mse": F.mse_loss(pred, b.y).item(), "mse_clean": F.mse_loss(pred, b.clean).item(),
                "mse_clean_after_warmup": F.mse_loss(pred[:, warmup:], b.clean[:, warmup:]).item(),
                "noise_floor_mse": rnn_tasks.NOISE ** 2, "warmup_steps": warmup,
                "repeat_last_value_mse_clean": F.mse_loss(b.x[:, warmup:, 0], b.clean[:, warmup:]).item()}
    scored = b.y != IGNORE
    right = (out.argmax(-1) == b.y) | ~scored  # (B, T)
    return {"accuracy": right[scored].float().mean().item(), "sequence_accuracy": right.all(1).float().mean().item(),
            "sequences": int(b.y.shape[0]), "scored_steps": int(scored.sum())}


def accuracy_by_distance(model: SeqModel, distances, n: int, seed: int) -> dict:
    """Remember task: accuracy at the "?" for each key-to-query distance, on fresh sequences."""
    return {int(d): evaluate(model, heldout("remember", seed + int(d), n, int(d)))["accuracy"] for d in distances}


class RaceEvent(NamedTuple):
    step: int  # gradient steps done (by each model)
    cell: str  # "rnn", "gru" or "lstm"
    loss: float  # mean training loss since the last event
    acc: float  # accuracy at exactly the chosen distance on a fixed held-out batch
    seconds: float  # wall time since the race started


class RaceTick(NamedTuple):
    step: int  # gradient steps done (by each model); yielded after every step, so a caller can stop promptly
    seconds: float


def race_steps(distance: int, cells=("rnn", "gru", "lstm"), hidden: int = 32, steps: int = 600,
               batch_size: int = 32, lr: float = 0.01, seed: int = 0, eval_every: int = 25,
               device: torch.device = torch.device("cpu")) -> Iterator[RaceEvent | RaceTick]:
    """Train one model per cell on identical batches (distances 1..distance, so short cases teach first)
    and measure each at exactly ``distance`` every ``eval_every`` steps."""
    models = {c: build(model_config("remember", c, hidden), seed).to(device).train() for c in cells}
    opts = {c: torch.optim.Adam(m.parameters(), lr=lr) for c, m in models.items()}
    gen = torch.Generator().manual_seed(seed)
    test = to(heldout("remember", seed + 10_007, 256, distance), device)
    losses = {c: [] for c in cells}
    t0 = time.perf_counter()
    for step in range(1, steps + 1):
        b = to(make_batch("remember", gen, batch_size, int(torch.randint(1, distance + 1, (1,), generator=gen))), device)
        for c, model in models.items():
            out, _ = model(b.x)
            loss, _ = loss_and_acc(out, b)
            opts[c].zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opts[c].step()
            losses[c].append(loss.item())
        yield RaceTick(step, time.perf_counter() - t0)
        if step % eval_every == 0 or step == steps:
            for c, model in models.items():
                acc = evaluate(model, test)["accuracy"]
                model.train()
                yield RaceEvent(step, c, sum(losses[c]) / len(losses[c]), acc, time.perf_counter() - t0)
                losses[c] = []


@torch.no_grad()
def unit_scores(task: str, values: torch.Tensor, b: Batch) -> torch.Tensor:
    """How strongly each unit tracks the task's hidden variable; values: (B, T, H) e.g. the cell state.

    brackets: correlation with the depth; sine: correlation with the current input value (both signed:
    rank by magnitude); remember: the share of the unit's variance explained by the key (eta^2, >= 0).
    """
    v = values.flatten(0, 1).double()  # (B*T, H)
    if task == "remember":
        key = b.x[:, :1].expand(-1, values.shape[1]).flatten()  # (B*T,) the key at every step
        total = v.var(0, unbiased=False) + 1e-12
        means = torch.stack([v[key == k].mean(0) for k in key.unique()])  # (K, H)
        weights = torch.stack([(key == k).double().mean() for k in key.unique()])  # (K,)
        between = (weights[:, None] * (means - v.mean(0)) ** 2).sum(0)
        return (between / total).float()
    target = (b.y if task == "brackets" else b.x[..., 0]).flatten().double()  # (B*T,)
    vc, tc = v - v.mean(0), target - target.mean()
    corr = (vc * tc[:, None]).sum(0) / (vc.norm(dim=0) * tc.norm() + 1e-12)
    return corr.float()
