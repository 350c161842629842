"""What the 2-D GAN Lab draws, computed from a ``gan2d.Lab``: ``d_grid`` (D's output over the plane),
``manifold`` (a grid in noise space mapped through G), ``g_arrows`` (where G's gradient pushes each
fake point) and ``divergence`` (KL / JS between smoothed 2-D histograms of real and fake points);
``view`` returns all of them at once. The game itself is in ``dl_core/gan2d.py``.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from dl_core.gan2d import LIM, Lab, d_output, g_loss_fn


def plane_grid(n: int, lim: float = LIM) -> torch.Tensor:
    """Cell centres of an n x n grid over [-lim, lim]^2: (n, n, 2), [row, col] = (x_col, y_row)."""
    c = (torch.arange(n) + 0.5) / n * 2 * lim - lim  # (n,)
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    return torch.stack([xx, yy], -1)


@torch.no_grad()
def d_grid(lab: Lab, loss: str, n: int = 40, lim: float = LIM) -> torch.Tensor:
    """D's output (0..1) at the centre of every cell of an n x n grid: (n, n), row 0 at y = -lim."""
    xy = plane_grid(n, lim).reshape(-1, 2)  # (n*n, 2)
    return d_output(loss, lab.d(xy).squeeze(1)).reshape(n, n)


@torch.no_grad()
def manifold(lab: Lab, n: int = 15) -> torch.Tensor:
    """G applied to a grid in noise space: (n, n, 2) for 2-D noise, (1, 4n, 2) for 1-D noise.

    Gaussian noise uses equal-probability quantiles, so each cell of the warped grid holds the same mass."""
    cfg = lab.cfg
    m = n if cfg.noise_dim == 2 else 4 * n
    t = torch.linspace(-1, 1, m)
    if cfg.noise == "gaussian":
        t = torch.special.ndtri((t * 0.96 + 1) / 2)  # quantiles 2% .. 98%
    if cfg.noise_dim == 1:
        return lab.g(t[:, None])[None]  # (1, m, 2)
    zz = torch.stack(torch.meshgrid(t, t, indexing="ij"), -1)  # (n, n, 2)
    return lab.g(zz.reshape(-1, 2)).reshape(n, n, 2)


def g_arrows(lab: Lab, loss: str, n: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    """The first n fixed fake points (n, 2) and -dL_G/dx for each (n, 2): where G's update pushes them."""
    with torch.no_grad():
        fake = lab.g(lab.z_view[:n])  # (n, 2)
    fake.requires_grad_(True)
    g_loss = g_loss_fn(loss, lab.d(fake).squeeze(1)) * n  # per-point loss, not the batch mean
    (grad,) = torch.autograd.grad(g_loss, fake)
    return fake.detach(), -grad


class Divergence(NamedTuple):
    kl: float  # KL(P_real || P_fake) in nats
    js: float  # Jensen-Shannon divergence in nats, 0 .. ln 2


def histogram(points: torch.Tensor, bins: int, lim: float = LIM, smooth: float = 1.0) -> torch.Tensor:
    """A normalised 2-D histogram (bins, bins), blurred with a gaussian of ``smooth`` bins."""
    ij = ((points + lim) / (2 * lim) * bins).floor().long().clamp(0, bins - 1)  # (N, 2): (col, row)
    h = torch.bincount(ij[:, 1] * bins + ij[:, 0], minlength=bins * bins).float().reshape(1, 1, bins, bins)
    if smooth > 0:
        r = int(3 * smooth)
        k = torch.exp(-torch.arange(-r, r + 1).float() ** 2 / (2 * smooth ** 2))
        k = k / k.sum()
        h = F.conv2d(h, k.view(1, 1, 1, -1), padding=(0, r))  # blur along x
        h = F.conv2d(h, k.view(1, 1, -1, 1), padding=(r, 0))  # blur along y
    h = h[0, 0] + 1e-6  # a floor, so the KL stays finite where one side has no points
    return h / h.sum()


@torch.no_grad()
def divergence(real: torch.Tensor, fake: torch.Tensor, bins: int = 30, smooth: float = 1.0) -> Divergence:
    """KL and JS between smoothed histograms of real (N, 2) and fake (M, 2) points on the view's grid."""
    p, q = histogram(real, bins, smooth=smooth), histogram(fake, bins, smooth=smooth)
    m = (p + q) / 2
    kl = (p * (p / q).log()).sum()
    js = 0.5 * (p * (p / m).log()).sum() + 0.5 * (q * (q / m).log()).sum()
    return Divergence(float(kl), float(js))


class View(NamedTuple):
    real: torch.Tensor  # (n, 2) fixed real points
    fake: torch.Tensor  # (n, 2) G applied to fixed noise
    d_grid: torch.Tensor  # (g, g) D's output over the plane
    manifold: torch.Tensor  # (r, c, 2) G's warped noise grid
    arrow_from: torch.Tensor  # (a, 2) fake points
    arrow_grad: torch.Tensor  # (a, 2) -dL_G/dx at those points
    divergence: Divergence  # real vs fake, on all the fixed samples


def view(lab: Lab, loss: str, n_show: int = 300, grid: int = 40, arrows: int = 80) -> View:
    """Everything the 2-D picture draws, in one call."""
    with torch.no_grad():
        fake_all = lab.g(lab.z_view)  # (n_view, 2)
    frm, grad = g_arrows(lab, loss, arrows)
    return View(lab.real_view[:n_show], fake_all[:n_show], d_grid(lab, loss, grid), manifold(lab),
                frm, grad, divergence(lab.real_view, fake_all))
