"""A small DCGAN for 28x28 MNIST digits.

Goodfellow et al., "Generative Adversarial Nets" (2014) for the game and the training step;
Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep Convolutional GANs"
(2015) for the architecture (transposed convs, batch norm, ReLU in G, LeakyReLU in D, Adam with
beta1 = 0.5, lr 2e-4, weights from N(0, 0.02)).

* ``Generator``: z (32) -> [linear 256] -> linear 128*7*7 -> convT 64 (14x14) -> convT 1 (28x28) -> tanh.
* ``Discriminator``: conv 32 (14x14) -> conv 64 (7x7) -> [linear 256] -> linear -> one logit.
  The hidden linear layers in [ ] are optional (``g_fc``, ``d_fc``), as in InfoGAN's MNIST nets
  (Chen et al. 2016). The shipped generator has both: without them, a quarter of its samples were
  digit-like strokes that no classifier could read. Trains on one CPU core in about 20 minutes.
* ``train_step``: (1) update D, (2) update G; ``train`` yields what happened step by step.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Iterator, NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from dl_core import checkpoints
from dl_core.checkpoints import count_params, round_to_half, save  # noqa: F401  (re-exported: unet.save, unet.count_params, ...)


@dataclass(frozen=True)
class DCGANConfig:
    z_dim: int = 32  # length of the noise vector z
    g_ch: int = 64  # channels of G's 14x14 layer (its 7x7 layer has twice as many)
    d_ch: int = 32  # channels of D's 14x14 layer (its 7x7 layer has twice as many)
    g_fc: int = 0  # width of a hidden fully connected layer between z and G's 7x7 map (0: none)
    d_fc: int = 0  # width of a hidden fully connected layer before D's logit (0: none)


class Generator(nn.Module):
    """z (B, z_dim) -> image (B, 1, 28, 28) in [-1, 1]."""

    def __init__(self, cfg: DCGANConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg.g_ch
        if cfg.g_fc:  # one more non-linearity in z-space, where G has to split the noise into 10 digits
            self.hidden = nn.Linear(cfg.z_dim, cfg.g_fc, bias=False)
            self.bn_hidden = nn.BatchNorm1d(cfg.g_fc)
        self.fc = nn.Linear(cfg.g_fc or cfg.z_dim, 2 * c * 7 * 7, bias=False)
        self.bn0 = nn.BatchNorm1d(2 * c * 7 * 7)
        self.up1 = nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.up2 = nn.ConvTranspose2d(c, 1, 4, stride=2, padding=1)

    def forward(self, z):  # z: (B, z_dim)
        if self.cfg.g_fc:
            z = F.relu(self.bn_hidden(self.hidden(z)))  # (B, g_fc)
        x = self.fc(z)  # (B, 2c*7*7)
        x = F.relu(self.bn0(x))
        x = x.view(-1, 2 * self.cfg.g_ch, 7, 7)  # (B, 2c, 7, 7)
        x = self.up1(x)  # (B, c, 14, 14)
        x = F.relu(self.bn1(x))
        x = self.up2(x)  # (B, 1, 28, 28)
        return torch.tanh(x)


class Discriminator(nn.Module):
    """image (B, 1, 28, 28) in [-1, 1] -> logit (B,); D(x) = sigmoid(logit) = P(x is real)."""

    def __init__(self, cfg: DCGANConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg.d_ch
        self.conv1 = nn.Conv2d(1, c, 4, stride=2, padding=1)
        self.conv2 = nn.Conv2d(c, 2 * c, 4, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * c)
        if cfg.d_fc:
            self.hidden = nn.Linear(2 * c * 7 * 7, cfg.d_fc, bias=False)
            self.bn_hidden = nn.BatchNorm1d(cfg.d_fc)
        self.fc = nn.Linear(cfg.d_fc or 2 * c * 7 * 7, 1)

    def forward(self, x):  # x: (B, 1, 28, 28)
        x = F.leaky_relu(self.conv1(x), 0.2)  # (B, c, 14, 14)
        x = self.conv2(x)  # (B, 2c, 7, 7)
        x = F.leaky_relu(self.bn2(x), 0.2)
        x = x.flatten(1)  # (B, 2c*49)
        if self.cfg.d_fc:
            x = F.leaky_relu(self.bn_hidden(self.hidden(x)), 0.2)  # (B, d_fc)
        return self.fc(x).squeeze(1)  # (B,) logits


def init_weights(module: nn.Module, gen: torch.Generator) -> None:
    """DCGAN initialisation: conv/linear weights ~ N(0, 0.02), batch-norm scales ~ N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            with torch.no_grad():
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * 0.02)
                if m.bias is not None:
                    m.bias.zero_()
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            with torch.no_grad():
                m.weight.copy_(1 + torch.randn(m.weight.shape, generator=gen) * 0.02)
                m.bias.zero_()


def to_pixels(x: torch.Tensor) -> torch.Tensor:
    """Generator output in [-1, 1] -> uint8 images (B, 28, 28), as they are stored and judged."""
    return ((x.squeeze(1).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def from_pixels(images: torch.Tensor) -> torch.Tensor:
    """uint8 images (B, 28, 28) -> (B, 1, 28, 28) floats in [-1, 1], the generator's range."""
    return images.float().unsqueeze(1) / 127.5 - 1


def noise(n: int, z_dim: int, seed: int | torch.Generator, device: torch.device) -> torch.Tensor:
    """n noise vectors z ~ N(0, I), reproducible from a seed (or a torch.Generator)."""
    gen = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(int(seed))
    return torch.randn(n, z_dim, generator=gen).to(device)  # (n, z_dim)


@torch.no_grad()
def sample(g: Generator, n: int, seed: int | torch.Generator, device: torch.device) -> torch.Tensor:
    """n images (n, 1, 28, 28) in [-1, 1] from the noise of ``seed``; G in eval mode (running BN stats)."""
    g.eval()
    return g(noise(n, g.cfg.z_dim, seed, device))


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between two noise vectors (z_dim,) at fractions t (T,) -> (T, z_dim)."""
    cos = (a @ b) / (a.norm() * b.norm())
    omega = torch.arccos(cos.clamp(-1, 1))
    t = t[:, None]  # (T, 1)
    if float(omega) < 1e-4:  # (nearly) the same direction: a straight line is exact enough
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / math.sin(float(omega))


@torch.no_grad()
def interpolate(g: Generator, seed_a: int, seed_b: int, steps: int, device: torch.device) -> torch.Tensor:
    """The images along the path from z(seed_a) to z(seed_b): (steps, 1, 28, 28)."""
    g.eval()
    za = noise(1, g.cfg.z_dim, seed_a, device)[0]
    zb = noise(1, g.cfg.z_dim, seed_b, device)[0]
    z = slerp(za, zb, torch.linspace(0, 1, steps, device=device))  # (steps, z_dim)
    return g(z)


def load(path, device: torch.device) -> Generator:
    """The shipped generator is stored as float16 (``save(g, path, half=True)``); it loads as float32."""
    return checkpoints.load(path, lambda cfg: Generator(DCGANConfig(**cfg)), device)


# --- training ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainConfig:
    steps: int = 3000  # gradient steps (each: one D update, one G update)
    batch_size: int = 64  # real images (and as many fakes) per step
    lr: float = 2e-4  # Adam learning rate of both players
    beta1: float = 0.5  # Adam beta1 (DCGAN's 0.5 instead of 0.9)
    ema: float = 0.998  # the shipped G is an exponential moving average of G's weights (0 = off)
    seed: int = 1  # seeds initial weights, batches and noise
    snapshot_every: int = 250  # yield the fixed-noise samples every N steps (and at step 0 and the end)
    snapshots: tuple[int, ...] = ()  # if given: snapshot at exactly these steps instead


class StepLosses(NamedTuple):
    d_loss: float  # -[log D(x) + log(1 - D(G(z)))], averaged over the batch
    g_loss: float  # -log D(G(z)) (the non-saturating generator loss)
    d_real: float  # mean D(x) on the real batch, before D's update
    d_fake: float  # mean D(G(z)) on the fakes, before D's update


def train_step(g: Generator, d: Discriminator, opt_g, opt_d, real: torch.Tensor, z: torch.Tensor) -> StepLosses:
    """One round of the game on a real batch (B, 1, 28, 28) and noise z (B, z_dim)."""
    ones = torch.ones(real.shape[0], device=real.device)
    zeros = torch.zeros(real.shape[0], device=real.device)
    # (1) update D: maximise log D(x) + log(1 - D(G(z)))  <=>  minimise BCE(D(x), 1) + BCE(D(G(z)), 0)
    fake = g(z)  # (B, 1, 28, 28)
    logit_real = d(real)  # (B,)
    logit_fake = d(fake.detach())  # (B,): detach, D's step must not move G
    d_loss = F.binary_cross_entropy_with_logits(logit_real, ones) + \
        F.binary_cross_entropy_with_logits(logit_fake, zeros)
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_d.step()
    # (2) update G: maximise log D(G(z))  <=>  minimise BCE(D(G(z)), 1)  (non-saturating, as in the paper)
    g_loss = F.binary_cross_entropy_with_logits(d(fake), ones)
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()
    return StepLosses(d_loss.item(), g_loss.item(), torch.sigmoid(logit_real.detach()).mean().item(),
                      torch.sigmoid(logit_fake.detach()).mean().item())


class TrainEvent(NamedTuple):
    step: int  # steps done so far
    losses: StepLosses | None  # None for the step-0 snapshot
    samples: torch.Tensor | None  # uint8 (64, 28, 28) from the fixed noise at snapshot steps, else None
    seconds: float  # wall time since training started


def train(cfg: DCGANConfig, tcfg: TrainConfig, images: torch.Tensor, device: torch.device,
          fixed_z: torch.Tensor, report_every: int = 1) -> Iterator:
    """Train on uint8 images (N, 28, 28). Yields G (the averaged generator, or G itself without EMA)
    first, then a ``TrainEvent`` every ``report_every`` steps and at every snapshot. Stop by closing it."""
    gen = torch.Generator().manual_seed(tcfg.seed)
    g, d = Generator(cfg), Discriminator(cfg)
    init_weights(g, gen)
    init_weights(d, gen)
    g, d = g.to(device), d.to(device)
    g_avg = copy.deepcopy(g).eval() if tcfg.ema > 0 else g
    for p in g_avg.parameters():
        p.requires_grad_(g_avg is g)
    opt_g = torch.optim.Adam(g.parameters(), lr=tcfg.lr, betas=(tcfg.beta1, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=tcfg.lr, betas=(tcfg.beta1, 0.999))
    yield g_avg
    t0 = time.perf_counter()

    def snapshot() -> torch.Tensor:
        was = g_avg.training
        g_avg.eval()
        with torch.no_grad():
            out = to_pixels(g_avg(fixed_z.to(device))).cpu()
        g_avg.train(was)
        return out

    yield TrainEvent(0, None, snapshot(), 0.0)
    n = images.shape[0]
    order = torch.randperm(n, generator=gen)
    pos = 0
    for step in range(1, tcfg.steps + 1):
        if pos + tcfg.batch_size > n:
            order, pos = torch.randperm(n, generator=gen), 0
        idx = order[pos:pos + tcfg.batch_size]
        pos += tcfg.batch_size
        real = from_pixels(images[idx]).to(device)  # (B, 1, 28, 28)
        z = torch.randn(tcfg.batch_size, cfg.z_dim, generator=gen).to(device)
        g.train()
        losses = train_step(g, d, opt_g, opt_d, real, z)
        if g_avg is not g:
            ema_update(g_avg, g, tcfg.ema)
        snap = step in tcfg.snapshots if tcfg.snapshots else step % tcfg.snapshot_every == 0
        snap = snap or step == tcfg.steps
        if snap or step % report_every == 0:
            yield TrainEvent(step, losses, snapshot() if snap else None, time.perf_counter() - t0)


@torch.no_grad()
def ema_update(avg: nn.Module, model: nn.Module, decay: float) -> None:
    """avg <- decay * avg + (1 - decay) * model for weights; batch-norm statistics are copied."""
    for pa, pm in zip(avg.parameters(), model.parameters()):
        pa.lerp_(pm, 1 - decay)
    for ba, bm in zip(avg.buffers(), model.buffers()):
        ba.copy_(bm)
