"""Latent diffusion for digits: an autoencoder E/D and an eps-model in its latent space.

Rombach et al., "High-Resolution Image Synthesis with Latent Diffusion Models" (2022), Figure 3:
pixel x -> encoder E -> latent z (here 4x7x7) -> diffusion in z with a denoiser whose
cross-attention takes Q from the latent tokens and K/V from a conditioning encoder tau_theta(y)
(here: the digit class -> a few context tokens; one extra class means "no condition" for CFG)
-> decoder D -> pixel image.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from dl_core.unet import timestep_embedding
from dl_core import checkpoints
from dl_core.checkpoints import count_params, save  # noqa: F401  (re-exported: unet.save, unet.count_params, ...)

LATENT_SHAPE = (4, 7, 7)  # (C, H, W) of z


@dataclass(frozen=True)
class AEConfig:
    hidden: tuple = (16, 32)  # channels at 28x28 -> 14x14 (the 7x7 stage uses hidden[1])
    z_ch: int = 4  # latent channels at 7x7


class AutoEncoder(nn.Module):
    """E: (B, 1, 28, 28) -> (B, 4, 7, 7); D: back. ``latent_std`` rescales z to unit variance."""

    def __init__(self, cfg: AEConfig, latent_std: float = 1.0):
        super().__init__()
        self.cfg = cfg
        a, b = cfg.hidden
        self.encoder = nn.Sequential(
            nn.Conv2d(1, a, 3, padding=1), nn.SiLU(),
            nn.Conv2d(a, b, 3, stride=2, padding=1), nn.SiLU(),  # 28 -> 14
            nn.Conv2d(b, b, 3, stride=2, padding=1), nn.SiLU(),  # 14 -> 7
            nn.Conv2d(b, cfg.z_ch, 1),
        )
        self.decoder = nn.Sequential(
            nn.Conv2d(cfg.z_ch, b, 3, padding=1), nn.SiLU(),
            nn.ConvTranspose2d(b, b, 4, stride=2, padding=1), nn.SiLU(),  # 7 -> 14
            nn.ConvTranspose2d(b, a, 4, stride=2, padding=1), nn.SiLU(),  # 14 -> 28
            nn.Conv2d(a, 1, 3, padding=1), nn.Tanh(),
        )
        self.register_buffer("latent_std", torch.tensor(float(latent_std)))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)  # (B, 4, 7, 7)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)  # (B, 1, 28, 28) in [-1, 1]

    def encode_scaled(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x) / self.latent_std  # unit-variance z, what diffusion sees

    def decode_scaled(self, z: torch.Tensor) -> torch.Tensor:
        return self.decode(z * self.latent_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def ae_loss(model: AutoEncoder, x: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(model(x), x)


@torch.no_grad()
def latent_std(model: AutoEncoder, x: torch.Tensor) -> float:
    return float(model.encode(x).std())


def cross_attention(q_in: torch.Tensor, ctx: torch.Tensor, wq: nn.Linear, wk: nn.Linear, wv: nn.Linear,
                    heads: int) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(Q K^T / sqrt(d)) V with Q from the latent tokens, K and V from the context tokens.

    q_in (B, N, d) latent tokens, ctx (B, M, d) conditioning tokens -> out (B, N, d), weights (B, heads, N, M).
    """
    B, N, d = q_in.shape
    M = ctx.shape[1]
    dh = d // heads
    q = wq(q_in).view(B, N, heads, dh).transpose(1, 2)  # (B, h, N, dh)
    k = wk(ctx).view(B, M, heads, dh).transpose(1, 2)  # (B, h, M, dh)
    v = wv(ctx).view(B, M, heads, dh).transpose(1, 2)  # (B, h, M, dh)
    scores = q @ k.transpose(-2, -1) / math.sqrt(dh)  # (B, h, N, M)
    weights = scores.softmax(dim=-1)  # (B, h, N, M)
    out = (weights @ v).transpose(1, 2).reshape(B, N, d)  # (B, N, d)
    return out, weights


@dataclass(frozen=True)
class LatentConfig:
    d: int = 64  # token width
    blocks: int = 4  # [self-attn, cross-attn, MLP] blocks
    heads: int = 4  # attention heads
    ctx_tokens: int = 4  # tokens produced by the conditioning encoder
    n_classes: int = 10  # digit classes; index n_classes is the null class
    T: int = 1000  # diffusion steps
    schedule: str = "cosine"  # beta schedule
    # Latent normalisation (Rombach et al. scale z by 1/std; here per channel, mean and std), measured on
    # the training set by the recipe: the denoiser sees z = (E(x) - z_mean) / z_std, unit variance.
    z_mean: tuple = (0.0, 0.0, 0.0, 0.0)  # per-channel mean of E(x)
    z_std: tuple = (1.0, 1.0, 1.0, 1.0)  # per-channel std of E(x)
    z_lo: tuple = (-1.0, -1.0, -1.0, -1.0)  # per-channel min of the normalised training latents
    z_hi: tuple = (1.0, 1.0, 1.0, 1.0)  # per-channel max: the sampler clamps x0-hat to [z_lo, z_hi]


class Block(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads = heads
        self.n1, self.n2, self.n3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.self_attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.wq, self.wk, self.wv, self.wo = (nn.Linear(d, d) for _ in range(4))
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.time = nn.Linear(d, d)

    def forward(self, x, ctx, temb):
        x = x + self.time(temb)[:, None]  # (B, N, d) time enters every block
        h = self.n1(x)
        x = x + self.self_attn(h, h, h, need_weights=False)[0]  # latent tokens talk to each other
        out, weights = cross_attention(self.n2(x), ctx, self.wq, self.wk, self.wv, self.heads)
        x = x + self.wo(out)  # Q: latent, K/V: the class
        x = x + self.mlp(self.n3(x))
        return x, weights


class LatentDenoiser(nn.Module):
    """eps_theta(z_t, t, tau(y)): 49 latent tokens, self-attention + cross-attention to the class."""

    def __init__(self, cfg: LatentConfig):
        super().__init__()
        self.cfg = cfg
        C, H, W = LATENT_SHAPE
        self.inp = nn.Linear(C, cfg.d)
        self.pos = nn.Parameter(torch.randn(1, H * W, cfg.d) * 0.02)
        self.time_mlp = nn.Sequential(nn.Linear(cfg.d, cfg.d), nn.SiLU(), nn.Linear(cfg.d, cfg.d))
        # the conditioning encoder tau_theta: class -> ctx_tokens context vectors
        self.cond = nn.Embedding(cfg.n_classes + 1, cfg.ctx_tokens * cfg.d)
        self.cond_mlp = nn.Sequential(nn.LayerNorm(cfg.d), nn.Linear(cfg.d, cfg.d), nn.GELU(), nn.Linear(cfg.d, cfg.d))
        self.blocks = nn.ModuleList(Block(cfg.d, cfg.heads) for _ in range(cfg.blocks))
        self.norm = nn.LayerNorm(cfg.d)
        self.out = nn.Linear(cfg.d, C)

    def condition(self, y: torch.Tensor) -> torch.Tensor:
        ctx = self.cond(y).view(len(y), self.cfg.ctx_tokens, self.cfg.d)  # (B, M, d)
        return ctx + self.cond_mlp(ctx)

    def forward_with_attention(self, z, t, y) -> tuple[torch.Tensor, list[torch.Tensor]]:
        B, C, H, W = z.shape
        x = self.inp(z.flatten(2).transpose(1, 2)) + self.pos  # (B, 49, d)
        temb = self.time_mlp(timestep_embedding(t, self.cfg.d))  # (B, d)
        ctx = self.condition(y)  # (B, M, d)
        maps = []
        for block in self.blocks:
            x, w = block(x, ctx, temb)
            maps.append(w)  # (B, heads, 49, M)
        eps = self.out(self.norm(x)).transpose(1, 2).reshape(B, C, H, W)  # (B, 4, 7, 7)
        return eps, maps

    def forward(self, z, t, y) -> torch.Tensor:
        return self.forward_with_attention(z, t, y)[0]

    def _per_channel(self, v: tuple, like: torch.Tensor) -> torch.Tensor:
        return torch.tensor(v, dtype=like.dtype, device=like.device).view(1, -1, 1, 1)  # (1, C, 1, 1)

    def normalize(self, z_raw: torch.Tensor) -> torch.Tensor:
        """E(x) (B, 4, 7, 7) -> the unit-variance latents the denoiser is trained on."""
        return (z_raw - self._per_channel(self.cfg.z_mean, z_raw)) / self._per_channel(self.cfg.z_std, z_raw)

    def denormalize(self, z: torch.Tensor) -> torch.Tensor:
        """Back to the autoencoder's latent space, for D."""
        return z * self._per_channel(self.cfg.z_std, z) + self._per_channel(self.cfg.z_mean, z)

    def x0_range(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(lo, hi) (1, 4, 1, 1): the range of the normalised training latents, the sampler's x0 clamp."""
        return self._per_channel(self.cfg.z_lo, like), self._per_channel(self.cfg.z_hi, like)


@torch.no_grad()
def latent_stats(ae: AutoEncoder, xs: torch.Tensor, batch: int = 2000) -> dict:
    """Per-channel mean and std of E(x) over images xs (N, 1, 28, 28), and the normalised min / max:
    the LatentConfig fields z_mean, z_std, z_lo, z_hi."""
    z = torch.cat([ae.encode(xs[i:i + batch]) for i in range(0, len(xs), batch)])  # (N, 4, 7, 7)
    mean, std = z.mean(dim=(0, 2, 3)), z.std(dim=(0, 2, 3))  # (4,)
    zn = (z - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)
    r = lambda v: tuple(round(float(a), 6) for a in v)  # noqa: E731
    return {"z_mean": r(mean), "z_std": r(std), "z_lo": r(zn.amin(dim=(0, 2, 3))), "z_hi": r(zn.amax(dim=(0, 2, 3)))}


@torch.no_grad()
def decode(ae: AutoEncoder, model: LatentDenoiser, z: torch.Tensor) -> torch.Tensor:
    """Normalised latents (B, 4, 7, 7) from the sampler -> images (B, 1, 28, 28) in [-1, 1]."""
    return ae.decode(model.denormalize(z))


def load_ae(path, device: torch.device) -> AutoEncoder:
    return checkpoints.load(path, lambda cfg: AutoEncoder(AEConfig(**{**cfg, "hidden": tuple(cfg["hidden"])})), device)


def load(path, device: torch.device) -> LatentDenoiser:
    tuples = lambda cfg: {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()}  # noqa: E731
    return checkpoints.load(path, lambda cfg: LatentDenoiser(LatentConfig(**tuples(cfg))), device)
