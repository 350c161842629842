"""Denoising diffusion: schedules, the forward process q(x_t | x_0) and the DDPM / DDIM samplers.

Ho, Jain, Abbeel, "Denoising Diffusion Probabilistic Models" (2020), Algorithms 1 and 2;
Nichol & Dhariwal, "Improved DDPM" (2021) for the cosine schedule;
Song, Meng, Ermon, "Denoising Diffusion Implicit Models" (2021) for DDIM;
Ho & Salimans, "Classifier-Free Diffusion Guidance" (2021).

Conventions: T steps; arrays indexed 0..T where index 0 is the clean image (beta_0 = 0, alpha_bar_0 = 1),
so ``q_sample(x0, 0, noise)`` returns x0 exactly. Images live in [-1, 1]. An eps-model is called as
``model(x_t, t, y)`` with ``t`` (B,) integer steps and ``y`` (B,) class labels, ``NULL_CLASS`` meaning
"no class" (the unconditional branch of classifier-free guidance).
"""
from __future__ import annotations

import math
from typing import Callable, Iterator, NamedTuple

import torch

NULL_CLASS = 10  # the extra label used for "no condition" in classifier-free guidance
T_DEFAULT = 1000


class Schedule(NamedTuple):
    betas: torch.Tensor  # (T+1,) beta_t, beta_0 = 0
    alphas: torch.Tensor  # (T+1,) alpha_t = 1 - beta_t
    alpha_bar: torch.Tensor  # (T+1,) prod_{s<=t} alpha_s, alpha_bar_0 = 1
    snr: torch.Tensor  # (T+1,) alpha_bar / (1 - alpha_bar), inf at t = 0


def linear_betas(T: int = T_DEFAULT, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """DDPM's linear schedule, scaled so any T spans the same total noise: (T,) betas for t = 1..T."""
    scale = 1000.0 / T
    return torch.linspace(beta_start * scale, beta_end * scale, T, dtype=torch.float64)


def cosine_betas(T: int = T_DEFAULT, s: float = 0.008) -> torch.Tensor:
    """Improved DDPM: alpha_bar(t) = cos^2((t/T + s) / (1 + s) * pi/2) / f(0); (T,) betas, clipped to 0.999."""
    t = torch.arange(T + 1, dtype=torch.float64)
    f = torch.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2
    alpha_bar = f / f[0]
    betas = 1 - alpha_bar[1:] / alpha_bar[:-1]
    return betas.clamp(max=0.999)


def make_schedule(kind: str = "linear", T: int = T_DEFAULT) -> Schedule:
    """All per-step quantities from the betas, as float32 tensors of length T+1 (index 0 = clean)."""
    raw = {"linear": linear_betas, "cosine": cosine_betas}[kind](T)
    betas = torch.cat([torch.zeros(1, dtype=torch.float64), raw])  # (T+1,)
    alphas = 1 - betas
    alpha_bar = torch.cumprod(alphas, dim=0)
    snr = alpha_bar / (1 - alpha_bar)
    return Schedule(betas.float(), alphas.float(), alpha_bar.float(), snr.float())


def _at(v: torch.Tensor, t: torch.Tensor | int, like: torch.Tensor) -> torch.Tensor:
    """Gather v[t] and shape it (B, 1, 1, 1) to broadcast against ``like``."""
    t = torch.as_tensor(t, device=v.device).long().reshape(-1)
    out = v[t].to(like.device, like.dtype)
    return out.view(-1, *([1] * (like.dim() - 1)))


def q_sample(x0: torch.Tensor, t: torch.Tensor | int, noise: torch.Tensor, sched: Schedule) -> torch.Tensor:
    """x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps  (closed form of q(x_t | x_0))."""
    ab = _at(sched.alpha_bar, t, x0)
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


def predict_x0(x_t: torch.Tensor, t, eps: torch.Tensor, sched: Schedule) -> torch.Tensor:
    """Invert q_sample: x0_hat = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t)."""
    ab = _at(sched.alpha_bar, t, x_t)
    return (x_t - (1 - ab).sqrt() * eps) / ab.sqrt()


def guided_eps(model: Callable, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor, scale: float) -> torch.Tensor:
    """Classifier-free guidance: eps_uncond + w (eps_cond - eps_uncond); w = 1 is plain conditional."""
    if scale == 1.0:
        return model(x, t, y)
    both = model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([y, torch.full_like(y, NULL_CLASS)]))
    eps_cond, eps_uncond = both.chunk(2)
    return eps_uncond + scale * (eps_cond - eps_uncond)


class Step(NamedTuple):
    t: int  # the timestep of x_t (0 = the finished sample)
    index: int  # 0, 1, 2 ... in sampling order
    x_t: torch.Tensor  # (B, C, H, W) the current noisy sample
    eps: torch.Tensor  # (B, C, H, W) the (guided) predicted noise at this step
    x0_hat: torch.Tensor  # (B, C, H, W) the predicted clean image at this step


def clamp_x0(x0: torch.Tensor, clip) -> torch.Tensor:
    """Clamp x0-hat to the data range: True = images' [-1, 1], (lo, hi) tensors = a per-channel range
    (the latent model's normalised training latents), False/None = no clamp."""
    if clip is None or clip is False:
        return x0
    lo, hi = (-1.0, 1.0) if clip is True else clip
    return torch.maximum(torch.minimum(x0, torch.as_tensor(hi, dtype=x0.dtype, device=x0.device)),
                         torch.as_tensor(lo, dtype=x0.dtype, device=x0.device))


def ddpm_step(x_t: torch.Tensor, t: int, eps: torch.Tensor, sched: Schedule, z: torch.Tensor) -> torch.Tensor:
    """Algorithm 2, line 4: x_{t-1} = 1/sqrt(a_t) (x_t - b_t / sqrt(1 - ab_t) eps) + sigma_t z, sigma_t^2 = b_t."""
    a = _at(sched.alphas, t, x_t)
    b = _at(sched.betas, t, x_t)
    ab = _at(sched.alpha_bar, t, x_t)
    mean = (x_t - b / (1 - ab).sqrt() * eps) / a.sqrt()
    sigma = b.sqrt() if t > 1 else torch.zeros_like(b)
    return mean + sigma * z


@torch.no_grad()
def ddpm_sample(model: Callable, y: torch.Tensor, sched: Schedule, shape: tuple, guidance: float = 3.0,
                generator: torch.Generator | None = None, device: torch.device | None = None,
                clip=True) -> Iterator[Step]:
    """DDPM ancestral sampling (Algorithm 2), one yielded Step per timestep T..1, then the final x_0."""
    device = device or y.device
    T = len(sched.betas) - 1
    x = torch.randn(shape, generator=generator, device=device)  # x_T ~ N(0, I)
    for i, t in enumerate(range(T, 0, -1)):
        tt = torch.full((shape[0],), t, device=device, dtype=torch.long)
        eps = guided_eps(model, x, tt, y, guidance)
        x0 = clamp_x0(predict_x0(x, t, eps, sched), clip)  # shown only; the step uses eps
        yield Step(t, i, x, eps, x0)
        z = torch.randn(shape, generator=generator, device=device)
        x = ddpm_step(x, t, eps, sched, z)
    yield Step(0, T, x, torch.zeros_like(x), x)


def ddim_timesteps(T: int, steps: int) -> list[int]:
    """``steps`` evenly spaced timesteps from T down to 1 (the DDIM sub-sequence tau)."""
    steps = max(1, min(int(steps), T))
    return sorted({int(round(v)) for v in torch.linspace(T, 1, steps).tolist()}, reverse=True)


@torch.no_grad()
def ddim_sample(model: Callable, y: torch.Tensor, sched: Schedule, shape: tuple, steps: int = 50,
                guidance: float = 3.0, eta: float = 0.0, generator: torch.Generator | None = None,
                device: torch.device | None = None, clip=True) -> Iterator[Step]:
    """DDIM (eq. 12): x_prev = sqrt(ab_prev) x0_hat + sqrt(1 - ab_prev - sigma^2) eps + sigma z.
    ``clip``: see ``clamp_x0``; the eps is then recomputed to agree with the clamped x0-hat."""
    device = device or y.device
    T = len(sched.betas) - 1
    taus = ddim_timesteps(T, steps)
    x = torch.randn(shape, generator=generator, device=device)  # x_T ~ N(0, I)
    for i, t in enumerate(taus):
        t_prev = taus[i + 1] if i + 1 < len(taus) else 0
        tt = torch.full((shape[0],), t, device=device, dtype=torch.long)
        eps = guided_eps(model, x, tt, y, guidance)
        x0 = predict_x0(x, t, eps, sched)
        if clip is not None and clip is not False:
            x0 = clamp_x0(x0, clip)
            ab_t = _at(sched.alpha_bar, t, x)
            eps = (x - ab_t.sqrt() * x0) / (1 - ab_t).sqrt()  # the noise consistent with the clipped x0
        yield Step(t, i, x, eps, x0)
        ab = _at(sched.alpha_bar, t, x)
        ab_prev = _at(sched.alpha_bar, t_prev, x)
        sigma = eta * ((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev)).sqrt()
        z = torch.randn(shape, generator=generator, device=device) if eta > 0 else torch.zeros_like(x)
        x = ab_prev.sqrt() * x0 + (1 - ab_prev - sigma**2).clamp(min=0).sqrt() * eps + sigma * z
    yield Step(0, len(taus), x, torch.zeros_like(x), x)


def final(steps: Iterator[Step]) -> torch.Tensor:
    """Run a sampler to the end and return x_0."""
    last = None
    for last in steps:
        pass
    return last.x_t


def loss(model: Callable, x0: torch.Tensor, y: torch.Tensor, sched: Schedule, generator: torch.Generator,
         p_uncond: float = 0.1) -> torch.Tensor:
    """Algorithm 1 with label dropout: || eps - eps_theta(sqrt(ab) x0 + sqrt(1-ab) eps, t, y) ||^2."""
    B = x0.shape[0]
    T = len(sched.betas) - 1
    t = torch.randint(1, T + 1, (B,), generator=generator).to(x0.device)
    noise = torch.randn(x0.shape, generator=generator).to(x0.device)
    drop = torch.rand(B, generator=generator).to(x0.device) < p_uncond
    y = torch.where(drop, torch.full_like(y, NULL_CLASS), y)
    x_t = q_sample(x0, t, noise, sched)
    eps = model(x_t, t, y)
    return torch.nn.functional.mse_loss(eps, noise)


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] model space -> [0, 1] ink."""
    return ((x + 1) / 2).clamp(0, 1)
