"""Training the MNIST CNNs as a generator: the caller (CLI or page) decides what to show and when.

``train_steps`` yields a ``BatchEvent`` every ``report_every`` batches and an ``EpochEvent`` (with
the notebook's "Test set: Average loss ..." numbers) after every epoch. Stop early by simply not
asking for the next event (or calling ``.close()`` on the generator).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Iterator, NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from dl_core.cnn import CNNConfig, build
from dl_core.data import Split, normalize


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 1  # passes over the 60k training images
    batch_size: int = 64  # images per gradient step
    lr: float = 0.01  # learning rate (peak learning rate with the one-cycle schedule)
    optimizer: str = "sgd"  # "sgd" (with momentum) or "adam"
    momentum: float = 0.5  # SGD momentum (the notebook's 0.5)
    schedule: str = "constant"  # "constant" or "onecycle" (Smith & Topin, 2017)
    augment: bool = False  # random small rotations, scalings and shifts of each training image
    seed: int = 1  # seeds initial weights, shuffling, dropout and augmentation
    max_train: int = 0  # use only the first N training images (0 = all)


class BatchEvent(NamedTuple):
    epoch: int  # 1-based
    batch: int  # batches done in this epoch
    batches: int  # batches per epoch
    loss: float  # mean loss of this batch
    acc: float  # accuracy of this batch
    samples_per_s: float
    batch_size: int = 64  # images per batch (for the notebook's progress line)
    total: int = 60_000  # training images per epoch

    def line(self) -> str:
        """The notebook's progress line: ``Train Epoch: 1 [640/60000 (1%)]  Loss: 2.301``."""
        seen = min(self.batch * self.batch_size, self.total)
        return f"Train Epoch: {self.epoch} [{seen}/{self.total} ({100.0 * seen / self.total:.0f}%)]\tLoss: {self.loss:.6f}"


class EpochEvent(NamedTuple):
    epoch: int
    test_loss: float  # average NLL over the test set
    correct: int
    total: int
    seconds: float  # wall time since training started

    @property
    def accuracy(self) -> float:
        return self.correct / self.total

    def line(self) -> str:
        """The notebook's line, word for word."""
        return (f"Test set: Average loss: {self.test_loss:.4f}, Accuracy: {self.correct}/{self.total} "
                f"({100.0 * self.correct / self.total:.2f}%)")


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random affine warp per image: rotation +-10 degrees, scale 0.9-1.1, shift +-2 px. x: (B, 1, 28, 28)."""
    b = x.shape[0]
    angle = (torch.rand(b, generator=gen) * 2 - 1) * math.radians(10)
    scale = 0.9 + torch.rand(b, generator=gen) * 0.2
    shift = (torch.rand(b, 2, generator=gen) * 2 - 1) * (2 / 14)  # 2 px in [-1, 1] coordinates
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)  # (B, 28, 28, 2)
    background = x.amin()  # the normalised value of a black pixel
    return F.grid_sample(x - background, grid, align_corners=False, padding_mode="zeros") + background


@torch.no_grad()
def evaluate(model: nn.Module, split: Split, device: torch.device, batch_size: int = 1000) -> tuple[float, int]:
    """(average NLL loss, number correct) over a whole split, in eval mode."""
    was_training = model.training
    model.eval()
    loss_sum, correct = 0.0, 0
    for i in range(0, len(split.labels), batch_size):
        x = normalize(split.images[i:i + batch_size]).to(device)
        y = split.labels[i:i + batch_size].to(device)
        logits = model(x)
        loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
        correct += int((logits.argmax(1) == y).sum())
    model.train(was_training)
    return loss_sum / len(split.labels), correct


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}")


def train_steps(model_cfg: CNNConfig, cfg: TrainConfig, train: Split, test: Split, device: torch.device,
                report_every: int = 20, model: nn.Module | None = None) -> Iterator[BatchEvent | EpochEvent | nn.Module]:
    """Train a fresh model; yields the model first, then events. Seeded: same config, same run."""
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    model = (model or build(model_cfg)).to(device).train()
    yield model
    opt = make_optimizer(model, cfg)
    n = cfg.max_train or len(train.labels)
    batches = math.ceil(n / cfg.batch_size)
    sched = None
    if cfg.schedule == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.epochs * batches)
    images = normalize(train.images[:n])  # (N, 1, 28, 28)
    labels = train.labels[:n]
    t0 = time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        order = torch.randperm(n, generator=gen)
        tb = time.perf_counter()
        for b in range(batches):
            idx = order[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            x = images[idx]
            if cfg.augment:
                x = augment(x, gen)
            x, y = x.to(device), labels[idx].to(device)
            logits = model(x)  # (B, 10)
            loss = F.cross_entropy(logits, y)  # = nll_loss(log_softmax(logits))
            opt.zero_grad()
            loss.backward()
            opt.step()
            if sched:
                sched.step()
            if (b + 1) % report_every == 0 or b + 1 == batches:
                acc = (logits.argmax(1) == y).float().mean().item()
                rate = (b + 1) * cfg.batch_size / max(time.perf_counter() - tb, 1e-9)
                yield BatchEvent(epoch, b + 1, batches, loss.item(), acc, rate, cfg.batch_size, n)
        test_loss, correct = evaluate(model, test, device)
        yield EpochEvent(epoch, test_loss, correct, len(test.labels), time.perf_counter() - t0)
    model.eval()
