"""A 2-D GAN you can watch, in PyTorch: GAN Lab (Kahng et al., "GAN Lab: Understanding Complex Deep
Generative Models using Interactive Visual Experimentation", 2019) rebuilt on real torch modules.

The game is Goodfellow et al., "Generative Adversarial Nets" (2014): D learns to tell real points
from G's points, G learns to fool D. Three losses: the original minimax, the non-saturating variant
from the same paper, and least squares (Mao et al., "Least Squares GANs", 2017).

Everything the view draws is computed in ``dl_core/gan2d_view.py`` from a ``Lab`` of this module.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = ("ring", "line", "moons", "spiral", "grid", "drawn")
LOSSES = ("minimax", "nonsaturating", "leastsquares")
LIM = 1.5  # the view (and the divergence grid) covers [-LIM, LIM]^2; presets live inside [-1, 1]^2
DRAWN_STD = 0.04  # each drawn point becomes a small gaussian blob of this standard deviation


def sample_real(preset: str, n: int, gen: torch.Generator, points: torch.Tensor | None = None) -> torch.Tensor:
    """n points (n, 2) from a preset distribution, or around drawn ``points`` (P, 2) for "drawn"."""
    u = torch.rand(n, generator=gen)  # (n,) uniform in [0, 1)
    eps = torch.randn(n, 2, generator=gen)  # (n, 2)
    if preset == "ring":  # 8 gaussians on a circle
        k = torch.randint(0, 8, (n,), generator=gen).float() * (2 * math.pi / 8)
        return torch.stack([torch.cos(k), torch.sin(k)], 1) * 0.8 + 0.05 * eps
    if preset == "line":  # a noisy diagonal segment
        t = u * 1.6 - 0.8
        return torch.stack([t, 0.5 * t], 1) + 0.03 * eps
    if preset == "moons":  # two interleaved half circles
        upper = torch.rand(n, generator=gen) < 0.5
        a = u * math.pi
        x = torch.where(upper, torch.cos(a), 1 - torch.cos(a)) - 0.5
        y = torch.where(upper, torch.sin(a), 0.5 - torch.sin(a)) - 0.25
        return torch.stack([x, y], 1) * 0.8 + 0.04 * eps
    if preset == "spiral":  # one arm, 1.5 turns
        r = 0.15 + 0.8 * u
        a = u * 3 * math.pi
        return torch.stack([r * torch.cos(a), r * torch.sin(a)], 1) + 0.03 * eps
    if preset == "grid":  # 3x3 gaussians
        ij = torch.randint(0, 3, (n, 2), generator=gen).float()
        return (ij - 1) * 0.7 + 0.05 * eps
    if preset == "drawn":
        if points is None or len(points) == 0:
            raise ValueError("the drawn distribution needs at least one point")
        idx = torch.randint(0, len(points), (n,), generator=gen)
        return points[idx] + DRAWN_STD * eps
    raise ValueError(f"unknown preset {preset!r}; choose one of {PRESETS}")


def sample_noise(kind: str, dim: int, n: int, gen: torch.Generator) -> torch.Tensor:
    """Noise z (n, dim): "uniform" on [-1, 1]^dim or "gaussian" N(0, I)."""
    if kind == "uniform":
        return torch.rand(n, dim, generator=gen) * 2 - 1
    if kind == "gaussian":
        return torch.randn(n, dim, generator=gen)
    raise ValueError(f"unknown noise {kind!r}")


@dataclass(frozen=True)
class GAN2DConfig:
    preset: str = "ring"  # the real distribution (see PRESETS)
    noise: str = "gaussian"  # "uniform" or "gaussian"
    noise_dim: int = 2  # 1 or 2
    g_layers: int = 2  # hidden layers of G
    g_width: int = 64  # units per hidden layer of G
    d_layers: int = 2  # hidden layers of D
    d_width: int = 64  # units per hidden layer of D
    seed: int = 0  # initial weights, data and noise


@dataclass(frozen=True)
class Hyper:
    """The knobs that may change while training runs."""
    loss: str = "nonsaturating"  # see LOSSES
    optimizer: str = "adam"  # "adam" or "sgd"
    lr_d: float = 0.002  # D's learning rate
    lr_g: float = 0.002  # G's learning rate
    d_steps: int = 1  # D updates per G update
    batch_size: int = 128  # real points (and as many fakes) per update


def mlp(n_in: int, width: int, layers: int, n_out: int, act: type[nn.Module]) -> nn.Sequential:
    """n_in -> [Linear(width), act] x layers -> Linear(n_out)."""
    mods, d = [], n_in
    for _ in range(layers):
        mods += [nn.Linear(d, width), act()]
        d = width
    return nn.Sequential(*mods, nn.Linear(d, n_out))


@torch.no_grad()
def init_uniform(net: nn.Module, gen: torch.Generator) -> None:
    """PyTorch's default Linear initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from ``gen``."""
    for m in net.modules():
        if isinstance(m, nn.Linear):
            bound = 1 / math.sqrt(m.in_features)
            m.weight.uniform_(-bound, bound, generator=gen)
            m.bias.uniform_(-bound, bound, generator=gen)


class Lab:
    """One 2-D GAN: G and D, their optimizers, the random stream and fixed samples for the view."""

    def __init__(self, cfg: GAN2DConfig, points: torch.Tensor | None = None, n_view: int = 2000):
        self.cfg = cfg
        self.points = points  # (P, 2) drawn points, for preset "drawn"
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.g = mlp(cfg.noise_dim, cfg.g_width, cfg.g_layers, 2, nn.ReLU)  # z (B, k) -> x (B, 2)
        self.d = mlp(2, cfg.d_width, cfg.d_layers, 1, lambda: nn.LeakyReLU(0.2))  # x (B, 2) -> logit (B, 1)
        init_uniform(self.g, self.gen)
        init_uniform(self.d, self.gen)
        self.opt_g = self.opt_d = None
        self.opt_kind = None
        self.steps = 0  # G updates plus D-only steps, as counted by train_step
        view_gen = torch.Generator().manual_seed(cfg.seed + 1)
        self.real_view = sample_real(cfg.preset, n_view, view_gen, points)  # (n_view, 2), fixed
        self.z_view = sample_noise(cfg.noise, cfg.noise_dim, n_view, view_gen)  # (n_view, k), fixed

    def sync(self, hyper: Hyper) -> None:
        """Apply optimizer and learning-rate changes without losing the weights."""
        if hyper.optimizer != self.opt_kind:
            make = {"adam": lambda p: torch.optim.Adam(p, betas=(0.5, 0.999)),
                    "sgd": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9)}[hyper.optimizer]
            self.opt_g, self.opt_d, self.opt_kind = make(self.g.parameters()), make(self.d.parameters()), hyper.optimizer
        for group in self.opt_d.param_groups:
            group["lr"] = hyper.lr_d
        for group in self.opt_g.param_groups:
            group["lr"] = hyper.lr_g


def d_loss_fn(loss: str, logit_real: torch.Tensor, logit_fake: torch.Tensor) -> torch.Tensor:
    """D's loss: minimax and non-saturating share it, -[log D(x) + log(1 - D(G(z)))]."""
    if loss == "leastsquares":  # D's raw output a: 1/2 (a_real - 1)^2 + 1/2 a_fake^2
        return 0.5 * ((logit_real - 1) ** 2).mean() + 0.5 * (logit_fake ** 2).mean()
    return F.softplus(-logit_real).mean() + F.softplus(logit_fake).mean()  # -log sigmoid(l) = softplus(-l)


def g_loss_fn(loss: str, logit_fake: torch.Tensor) -> torch.Tensor:
    """G's loss on its own points."""
    if loss == "minimax":  # minimise log(1 - D(G(z))) = -softplus(l): weak gradients where D is sure
        return -F.softplus(logit_fake).mean()
    if loss == "nonsaturating":  # minimise -log D(G(z)) = softplus(-l): strong gradients where D is sure
        return F.softplus(-logit_fake).mean()
    if loss == "leastsquares":  # 1/2 (a_fake - 1)^2
        return 0.5 * ((logit_fake - 1) ** 2).mean()
    raise ValueError(f"unknown loss {loss!r}; choose one of {LOSSES}")


def d_output(loss: str, logits: torch.Tensor) -> torch.Tensor:
    """What D says, on a 0..1 scale: sigmoid of the logit (least squares: the raw value, clipped)."""
    return logits.clamp(0, 1) if loss == "leastsquares" else torch.sigmoid(logits)


class StepResult(NamedTuple):
    step: int  # lab.steps after this call
    phase: str  # "both", "D" or "G": which player(s) moved
    d_loss: float  # D's loss on this step's batch, before its update
    g_loss: float  # G's loss on this step's batch, before its update
    d_real: float  # mean D(x) on the real batch
    d_fake: float  # mean D(G(z)) on the fake batch


def train_step(lab: Lab, hyper: Hyper, phase: str = "both") -> StepResult:
    """One step. "both": ``hyper.d_steps`` D updates, then one G update. "D" / "G": one update of that player."""
    lab.sync(hyper)
    b, cfg = hyper.batch_size, lab.cfg
    d_updates = hyper.d_steps if phase == "both" else int(phase == "D")
    first = None
    # (1) update D: maximise log D(x) + log(1 - D(G(z)))  (least squares: pull D(x) to 1, D(G(z)) to 0)
    for _ in range(max(d_updates, 1)):
        real = sample_real(cfg.preset, b, lab.gen, lab.points)  # (B, 2)
        z = sample_noise(cfg.noise, cfg.noise_dim, b, lab.gen)  # (B, k)
        with torch.no_grad():
            fake = lab.g(z)  # (B, 2): D's step must not move G
        with torch.set_grad_enabled(d_updates > 0):
            logit_real = lab.d(real).squeeze(1)  # (B,)
            logit_fake = lab.d(fake).squeeze(1)  # (B,)
            d_loss = d_loss_fn(hyper.loss, logit_real, logit_fake)
        if first is None:
            first = (d_loss.item(), d_output(hyper.loss, logit_real).mean().item(),
                     d_output(hyper.loss, logit_fake).mean().item())
        if d_updates == 0:
            break  # "G" alone: D's numbers are measured, D does not move
        lab.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        lab.opt_d.step()
    # (2) update G: minimise its loss on fresh fakes, through the (now fixed) D
    z = sample_noise(cfg.noise, cfg.noise_dim, b, lab.gen)
    with torch.set_grad_enabled(phase != "D"):
        g_loss = g_loss_fn(hyper.loss, lab.d(lab.g(z)).squeeze(1))
    if phase != "D":
        lab.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        lab.opt_g.step()
    lab.d.zero_grad(set_to_none=True)  # G's backward also filled D's gradients; D did not step on them
    lab.steps += 1
    return StepResult(lab.steps, phase, first[0], g_loss.item(), first[1], first[2])


def train(lab: Lab, hyper: Hyper, steps: int) -> Iterator[StepResult]:
    """``steps`` full steps, one result each; the caller decides what to draw and when."""
    for _ in range(steps):
        yield train_step(lab, hyper)
