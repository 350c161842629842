"""How good is a generator? Five numbers for a batch of generated digits, against real MNIST digits.

* accuracy (class-conditional models): the share a trained classifier reads as the requested digit;
  ``confident`` (unconditional GAN): the share whose top class has p >= 0.9 (``gan_judge.CONFIDENCE``).
  Both under two judges: the shipped CNN and a second, independently trained net (``judge_net``).
* Frechet distance (Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local
  Nash Equilibrium", 2017, the "FID"): fit a Gaussian to the second judge's 256-d penultimate features
  of each set, FD = |mu1 - mu2|^2 + tr(C1 + C2 - 2 (C1 C2)^(1/2)). Two sets of real digits of the same
  size do not reach 0 (sampling noise): that "floor" is measured and reported with it.
* within-class diversity: the mean pairwise L2 distance between samples of one class (pixels in
  [0, 1]) divided by the same for real digits of that class, averaged over classes. 1 = as varied as
  real digits; a model that draws the same digit every time scores near 0.
* ink: the mean pixel value in [0, 1], compared with real digits (faint samples score below 1).
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from dl_core.data import normalize
from dl_core.gan_judge import CONFIDENCE


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Images (N, 1, 28, 28) in [-1, 1] -> uint8 (N, 28, 28), as an image file would store them."""
    return ((x[:, 0].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


@torch.no_grad()
def judge_outputs(judge: nn.Module, images: torch.Tensor, batch: int = 500) -> tuple[torch.Tensor, torch.Tensor | None]:
    """uint8 (N, 28, 28) -> (p(y|x) (N, 10), penultimate features (N, F) or None if the judge has none)."""
    judge.eval()
    dev = next(judge.parameters()).device
    probs, feats = [], []
    for i in range(0, len(images), batch):
        x = normalize(images[i:i + batch]).to(dev)  # (b, 1, 28, 28)
        if hasattr(judge, "features"):
            f = judge.features(x)  # (b, F)
            feats.append(f.cpu())
            logits = judge.head(f)
        else:
            logits = judge(x)
        probs.append(F.softmax(logits, dim=1).cpu())
    return torch.cat(probs), (torch.cat(feats) if feats else None)


def _sqrtm_psd(c: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric positive semi-definite matrix via its eigen-decomposition."""
    vals, vecs = torch.linalg.eigh(c)
    return (vecs * vals.clamp(min=0).sqrt()) @ vecs.T


def gaussian_fd(mu1: torch.Tensor, c1: torch.Tensor, mu2: torch.Tensor, c2: torch.Tensor) -> float:
    """|mu1 - mu2|^2 + tr(C1) + tr(C2) - 2 tr((C1 C2)^(1/2)), in float64.

    (C1 C2)^(1/2) has the same trace as (S C2 S)^(1/2) with S = C1^(1/2): that matrix is symmetric,
    so ``eigh`` suffices (no scipy)."""
    mu1, c1, mu2, c2 = (t.double() for t in (mu1, c1, mu2, c2))
    s = _sqrtm_psd(c1)
    m = s @ c2 @ s
    tr_sqrt = torch.linalg.eigvalsh((m + m.T) / 2).clamp(min=0).sqrt().sum()
    return float(((mu1 - mu2) ** 2).sum() + c1.trace() + c2.trace() - 2 * tr_sqrt)


def moments(f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (F,) and covariance (F, F) of features (N, F), float64."""
    f = f.double()
    return f.mean(0), torch.cov(f.T)


def frechet_distance(f1: torch.Tensor, f2: torch.Tensor) -> float:
    """FD between the Gaussians fitted to two feature sets (N1, F) and (N2, F)."""
    return gaussian_fd(*moments(f1), *moments(f2))


def class_spread(x: torch.Tensor, y: torch.Tensor, classes: int = 10) -> torch.Tensor:
    """Mean pairwise L2 distance within each class: images (N, 28, 28) in [0, 1] -> (classes,), NaN if < 2."""
    flat = x.reshape(len(x), -1).double()  # (N, 784)
    out = torch.full((classes,), float("nan"), dtype=torch.float64)
    for c in range(classes):
        f = flat[y == c]
        n = len(f)
        if n >= 2:
            out[c] = torch.cdist(f, f).sum() / (n * (n - 1))  # the diagonal is 0
    return out


def diversity_ratio(x: torch.Tensor, y: torch.Tensor, real_x: torch.Tensor, real_y: torch.Tensor) -> tuple[float, list]:
    """Within-class spread of samples over that of real digits: (mean over classes, per class)."""
    r = class_spread(x, y) / class_spread(real_x, real_y)  # (10,)
    ok = ~torch.isnan(r)
    return float(r[ok].mean()) if ok.any() else float("nan"), [round(float(v), 3) for v in r]


def ink(x: torch.Tensor) -> float:
    """Mean pixel value of images in [0, 1]."""
    return float(x.double().mean())


class Judged(NamedTuple):
    hits: float  # share read as the requested class (or confident, without requests)
    confident: float  # share with top class p >= 0.9
    pred: torch.Tensor  # (N,) the judge's classes
    features: torch.Tensor | None  # (N, F) penultimate features (second judge only)


def judge_batch(judge: nn.Module, images: torch.Tensor, requested: torch.Tensor | None = None) -> Judged:
    """One judge on uint8 images (N, 28, 28); ``requested`` (N,) classes for conditional models."""
    p, f = judge_outputs(judge, images)
    top, pred = p.max(1)
    confident = float((top >= CONFIDENCE).float().mean())
    hits = float((pred == requested).float().mean()) if requested is not None else confident
    return Judged(hits, confident, pred, f)


class Report(NamedTuple):
    cnn: float  # accuracy (or confident share) by the shipped CNN
    judge2: float  # the same by the second judge
    cnn_confident: float  # confident share by the shipped CNN
    judge2_confident: float  # confident share by the second judge
    fd: float  # Frechet distance to the real test digits on the second judge's features
    diversity: float  # within-class spread / real digits' spread
    diversity_per_class: list  # (10,)
    ink: float  # mean pixel value of the samples
    real_ink: float  # the same for real digits
    n: int  # samples judged


def evaluate(images: torch.Tensor, requested: torch.Tensor | None, cnn_judge: nn.Module, judge2: nn.Module,
             real_feats: tuple[torch.Tensor, torch.Tensor], real: tuple[torch.Tensor, torch.Tensor]) -> Report:
    """Every number for one batch of uint8 samples (N, 28, 28). ``real_feats``: the moments of the
    real test digits' features; ``real``: (uint8 images, labels) of real digits for diversity and ink.
    Unconditional samples are grouped by the second judge's class for diversity."""
    a = judge_batch(cnn_judge, images, requested)
    b = judge_batch(judge2, images, requested)
    fd = gaussian_fd(*moments(b.features), *real_feats)
    classes = requested if requested is not None else b.pred
    x, rx = images.float() / 255, real[0].float() / 255
    div, per_class = diversity_ratio(x, classes, rx, real[1])
    return Report(a.hits, b.hits, a.confident, b.confident, fd, div, per_class, ink(x), ink(rx), len(images))
