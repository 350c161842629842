"""A small convolutional autoencoder for MNIST with a 2-D bottleneck: the encoder-decoder for images.

The encoder squeezes a 28x28 digit through two strided convolutions into just two numbers (the
bottleneck code z); the decoder unfolds z back into an image with transposed convolutions
(Hinton & Salakhutdinov 2006, "Reducing the dimensionality of data with neural networks";
Masci et al. 2011, "Stacked convolutional auto-encoders"). Two numbers per digit means every test
digit is a point in the plane, so the latent space can be drawn, and walking a line between two
codes decodes into an interpolation. Pixels are in [0, 1] (not normalised), the loss is their MSE.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator, NamedTuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from dl_core import checkpoints
from dl_core.checkpoints import count_params, save  # noqa: F401  (re-exported: unet.save, unet.count_params, ...)


@dataclass(frozen=True)
class AEConfig:
    c1: int = 16  # channels after the first conv (14x14)
    c2: int = 32  # channels after the second conv (7x7)
    latent: int = 2  # size of the bottleneck code z


class Trace(NamedTuple):
    x: torch.Tensor  # (B, 1, 28, 28) input in [0, 1]
    f1: torch.Tensor  # (B, c1, 14, 14) first encoder feature maps
    f2: torch.Tensor  # (B, c2, 7, 7) second encoder feature maps
    z: torch.Tensor  # (B, latent) the bottleneck code
    g1: torch.Tensor  # (B, c1, 14, 14) first decoder feature maps
    out: torch.Tensor  # (B, 1, 28, 28) reconstruction in [0, 1]


class ConvAutoencoder(nn.Module):
    def __init__(self, cfg: AEConfig):
        super().__init__()
        self.cfg = cfg
        self.conv1 = nn.Conv2d(1, cfg.c1, 3, stride=2, padding=1)  # 28 -> 14
        self.conv2 = nn.Conv2d(cfg.c1, cfg.c2, 3, stride=2, padding=1)  # 14 -> 7
        self.to_z = nn.Linear(cfg.c2 * 7 * 7, cfg.latent)
        self.from_z = nn.Linear(cfg.latent, cfg.c2 * 7 * 7)
        self.deconv1 = nn.ConvTranspose2d(cfg.c2, cfg.c1, 4, stride=2, padding=1)  # 7 -> 14
        self.deconv2 = nn.ConvTranspose2d(cfg.c1, 1, 4, stride=2, padding=1)  # 14 -> 28

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        f1 = F.relu(self.conv1(x))  # (B, c1, 14, 14)
        f2 = F.relu(self.conv2(f1))  # (B, c2, 7, 7)
        z = self.to_z(f2.flatten(1))  # (B, latent)
        return f1, f2, z

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        g2 = F.relu(self.from_z(z)).view(-1, self.cfg.c2, 7, 7)  # (B, c2, 7, 7)
        g1 = F.relu(self.deconv1(g2))  # (B, c1, 14, 14)
        out = torch.sigmoid(self.deconv2(g1))  # (B, 1, 28, 28)
        return g1, out

    def trace(self, x: torch.Tensor) -> Trace:
        f1, f2, z = self.encode(x)
        g1, out = self.decode(z)
        return Trace(x, f1, f2, z, g1, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x)[2])[1]


def to_input(images: torch.Tensor, device=None) -> torch.Tensor:
    """uint8 (N, 28, 28) or float [0, 1] (N, 28, 28) -> float (N, 1, 28, 28) in [0, 1]."""
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    return x[:, None].to(device)


class EpochEvent(NamedTuple):
    epoch: int
    loss: float  # mean training MSE over the epoch
    seconds: float


def train_epochs(model: ConvAutoencoder, images: torch.Tensor, epochs: int, seed: int, device,
                 batch_size: int = 128, lr: float = 2e-3) -> Iterator[EpochEvent]:
    """Adam on the pixel MSE, shuffled with a seeded generator; yields after every epoch."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(images), generator=gen)
        total, n = 0.0, 0
        for i in range(0, len(images), batch_size):
            x = to_input(images[order[i:i + batch_size]], device)
            loss = F.mse_loss(model(x), x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total, n = total + loss.item() * len(x), n + len(x)
        model.eval()
        yield EpochEvent(epoch, total / n, time.perf_counter() - t0)


@torch.no_grad()
def reconstruction_error(model: ConvAutoencoder, images: torch.Tensor, device) -> float:
    """Mean squared pixel error (pixels in [0, 1]) over ``images``."""
    x = to_input(images, device)
    return float(F.mse_loss(model(x), x))


@torch.no_grad()
def encode_images(model: ConvAutoencoder, images: torch.Tensor, device) -> np.ndarray:
    """(N, latent) codes as numpy."""
    return model.encode(to_input(images, device))[2].cpu().numpy()


@torch.no_grad()
def interpolate(model: ConvAutoencoder, a: torch.Tensor, b: torch.Tensor, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Decode ``steps`` points on the straight line from code(a) to code(b); a, b: (28, 28) in [0, 1].

    Returns (codes (steps, latent), images (steps, 28, 28)).
    """
    za = model.encode(to_input(a[None]))[2]  # (1, latent)
    zb = model.encode(to_input(b[None]))[2]
    t = torch.linspace(0, 1, steps)[:, None]  # (steps, 1)
    z = (1 - t) * za + t * zb  # (steps, latent)
    return z.numpy(), model.decode(z)[1][:, 0].numpy()


def build(cfg: AEConfig, seed: int) -> ConvAutoencoder:
    torch.manual_seed(seed)  # nn.Conv2d/Linear draw their initial weights from the global generator
    return ConvAutoencoder(cfg)


def load(path, device: torch.device) -> ConvAutoencoder:
    return checkpoints.load(path, lambda cfg: ConvAutoencoder(AEConfig(**cfg)), device)
