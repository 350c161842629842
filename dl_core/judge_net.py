"""A second MNIST judge for generated digits: a small residual net, unlike the two nets in ``cnn.py``.

He et al., "Deep Residual Learning for Image Recognition" (2016): a block adds its input to the
output of two 3x3 convs, x + F(x). The net ends in a 256-d penultimate layer whose activations are
the features for the Frechet distance (``gen_metrics.frechet_distance``), as Heusel et al. (2017)
use Inception's pool features; a judge trained apart from the generators' own CNN (other
architecture, other seed) is harder to fool by accident.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from dl_core import checkpoints
from dl_core.checkpoints import count_params, save  # noqa: F401  (re-exported)


@dataclass(frozen=True)
class JudgeConfig:
    width: int = 32  # channels of the stem and the residual block (14x14); the 7x7 stage has 2x
    features: int = 256  # size of the penultimate layer (the FD features)
    dropout: float = 0.3  # dropout before the last linear layer (training only)


class ResBlock(nn.Module):
    """x + conv-BN-ReLU-conv-BN(x), then ReLU; same shape in and out."""

    def __init__(self, ch: int):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(ch, ch, 3, padding=1, bias=False), nn.BatchNorm2d(ch)
        self.c2, self.b2 = nn.Conv2d(ch, ch, 3, padding=1, bias=False), nn.BatchNorm2d(ch)

    def forward(self, x):
        h = F.relu(self.b1(self.c1(x)))
        return F.relu(x + self.b2(self.c2(h)))


class ResJudge(nn.Module):
    """stem 3x3 -> pool -> residual block -> stride-2 conv -> fc 256 (features) -> 10 logits."""

    def __init__(self, cfg: JudgeConfig):
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.stem = nn.Sequential(nn.Conv2d(1, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU())
        self.block = ResBlock(w)
        self.down = nn.Sequential(nn.Conv2d(w, 2 * w, 3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(2 * w), nn.ReLU())
        self.fc = nn.Linear(2 * w * 7 * 7, cfg.features)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.features, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised images (B, 1, 28, 28) -> penultimate activations (B, features)."""
        x = F.max_pool2d(self.stem(x), 2)  # (B, w, 14, 14)
        x = self.block(x)  # (B, w, 14, 14)
        x = self.down(x)  # (B, 2w, 7, 7)
        return F.relu(self.fc(x.flatten(1)))  # (B, 256)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.features(x)))  # (B, 10) logits


def load(path, device: torch.device) -> ResJudge:
    return checkpoints.load(path, lambda cfg: ResJudge(JudgeConfig(**cfg)), device)
