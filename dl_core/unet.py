"""A small class-conditional U-Net eps-model for 28x28 digits.

Ronneberger et al., "U-Net" (2015), as used by Ho et al., "Denoising Diffusion Probabilistic Models"
(2020): residual blocks that receive a sinusoidal time embedding ("Attention is all you need", 2017)
plus a class embedding (with a null class for classifier-free guidance), and one self-attention
block at the lowest resolution (7x7).

    28x28 (c0) -> 14x14 (c1) -> 7x7 (c2, + self-attention) -> 14x14 -> 28x28 -> eps
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from dl_core import checkpoints
from dl_core.checkpoints import count_params, save  # noqa: F401  (re-exported: unet.save, unet.count_params, ...)


@dataclass(frozen=True)
class UNetConfig:
    channels: tuple = (32, 64, 64)  # feature maps at 28x28, 14x14, 7x7
    emb_dim: int = 128  # size of the time + class embedding
    n_classes: int = 10  # digit classes; index n_classes is the null class
    in_ch: int = 1  # image channels
    heads: int = 4  # heads of the 7x7 self-attention
    T: int = 1000  # diffusion steps the model was trained for
    schedule: str = "cosine"  # beta schedule it was trained with


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding: [sin(t w_i), cos(t w_i)], w_i = 10000^(-i / (dim/2)); (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)  # (half,)
    args = t.float()[:, None] * freqs[None]  # (B, half)
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)  # (B, dim)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-Conv twice, the embedding added in between, plus a skip connection."""

    def __init__(self, cin: int, cout: int, emb_dim: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(8, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb_dim, cout)
        self.norm2 = nn.GroupNorm(8, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))  # (B, cout, H, W)
        h = h + self.emb(F.silu(emb))[:, :, None, None]  # add time + class
        h = self.conv2(F.silu(self.norm2(h)))  # (B, cout, H, W)
        return h + self.skip(x)


class SelfAttention2d(nn.Module):
    """Multi-head self-attention over the H*W positions of a feature map, residual."""

    def __init__(self, ch: int, heads: int):
        super().__init__()
        self.norm = nn.GroupNorm(8, ch)
        self.qkv = nn.Linear(ch, 3 * ch)
        self.proj = nn.Linear(ch, ch)
        self.heads = heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C, H, W = x.shape
        tokens = self.norm(x).flatten(2).transpose(1, 2)  # (B, HW, C)
        q, k, v = self.qkv(tokens).chunk(3, dim=-1)  # 3 x (B, HW, C)
        q, k, v = (z.view(B, H * W, self.heads, C // self.heads).transpose(1, 2) for z in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v)  # (B, heads, HW, C/heads)
        out = out.transpose(1, 2).reshape(B, H * W, C)  # (B, HW, C)
        out = self.proj(out).transpose(1, 2).view(B, C, H, W)
        return x + out


class Embedding(nn.Module):
    """Time (sinusoidal -> MLP) plus class (a lookup table with one extra row for "no class")."""

    def __init__(self, emb_dim: int, n_classes: int):
        super().__init__()
        self.emb_dim = emb_dim
        self.time_mlp = nn.Sequential(nn.Linear(emb_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.class_emb = nn.Embedding(n_classes + 1, emb_dim)

    def forward(self, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.time_mlp(timestep_embedding(t, self.emb_dim)) + self.class_emb(y)  # (B, emb)


class UNet(nn.Module):
    def __init__(self, cfg: UNetConfig):
        super().__init__()
        self.cfg = cfg
        c0, c1, c2 = cfg.channels
        e = cfg.emb_dim
        self.embed = Embedding(e, cfg.n_classes)
        self.inp = nn.Conv2d(cfg.in_ch, c0, 3, padding=1)
        self.down0 = ResBlock(c0, c0, e)
        self.pool0 = nn.Conv2d(c0, c1, 3, stride=2, padding=1)  # 28 -> 14
        self.down1 = ResBlock(c1, c1, e)
        self.pool1 = nn.Conv2d(c1, c2, 3, stride=2, padding=1)  # 14 -> 7
        self.mid1 = ResBlock(c2, c2, e)
        self.attn = SelfAttention2d(c2, cfg.heads)
        self.mid2 = ResBlock(c2, c2, e)
        self.up1 = nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1)  # 7 -> 14
        self.dec1 = ResBlock(2 * c1, c1, e)
        self.up0 = nn.ConvTranspose2d(c1, c0, 4, stride=2, padding=1)  # 14 -> 28
        self.dec0 = ResBlock(2 * c0, c0, e)
        self.out_norm = nn.GroupNorm(8, c0)
        self.out = nn.Conv2d(c0, cfg.in_ch, 3, padding=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        emb = self.embed(t, y)  # (B, e)
        h0 = self.down0(self.inp(x), emb)  # (B, c0, 28, 28)
        h1 = self.down1(self.pool0(h0), emb)  # (B, c1, 14, 14)
        h = self.mid1(self.pool1(h1), emb)  # (B, c2, 7, 7)
        h = self.attn(h)  # (B, c2, 7, 7)
        h = self.mid2(h, emb)  # (B, c2, 7, 7)
        h = self.dec1(torch.cat([self.up1(h), h1], dim=1), emb)  # (B, c1, 14, 14)
        h = self.dec0(torch.cat([self.up0(h), h0], dim=1), emb)  # (B, c0, 28, 28)
        return self.out(F.silu(self.out_norm(h)))  # (B, 1, 28, 28) predicted noise


def load(path, device: torch.device) -> UNet:
    return checkpoints.load(path, lambda cfg: UNet(UNetConfig(**{**cfg, "channels": tuple(cfg["channels"])})), device)
