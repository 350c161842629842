"""Top-level generator functions that the server's worker processes run (ui.workers names them by path).

A worker process has nothing of the server: each function loads what it needs (MNIST from a folder,
shipped weights from assets/) from plain arguments, and yields plain, picklable values (NamedTuples of
numbers and numpy arrays) that travel back through a multiprocessing queue. A trained model comes back
as a ``Weights`` event (its config and a state dict of numpy arrays), never as a pickled module.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np
import torch

ASSETS = Path(__file__).resolve().parent.parent / "assets"


class Weights(NamedTuple):
    epoch: int  # epochs done when these weights were taken
    config: dict  # the model's config (e.g. CNNConfig fields)
    state: dict  # parameter / buffer name -> numpy array


def state_numpy(model: torch.nn.Module) -> dict:
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def cnn_training(arch: str, train_cfg: dict, mnist_dir: str, device: str = "cpu",
                 report_every: int = 10) -> Iterator:
    """Train a fresh MNIST CNN: ``BatchEvent`` / ``EpochEvent`` as ``cnn_train.train_steps`` yields them,
    and after every epoch the model's ``Weights`` (so a stopped run still hands back its last epoch)."""
    from dataclasses import asdict

    from dl_core import data
    from dl_core.cnn import CNNConfig
    from dl_core.cnn_train import EpochEvent, TrainConfig, train_steps

    train, test = data.load_split(True, Path(mnist_dir)), data.load_split(False, Path(mnist_dir))
    model_cfg = CNNConfig(arch=arch)
    steps = train_steps(model_cfg, TrainConfig(**train_cfg), train, test, torch.device(device), report_every)
    model = next(steps)
    for event in steps:
        yield event
        if isinstance(event, EpochEvent):
            yield Weights(event.epoch, asdict(model_cfg), state_numpy(model))


class GanSamples(NamedTuple):
    step: int
    images: np.ndarray  # (64, 28, 28) uint8 from the fixed noise
    score: dict  # the judge's Score.as_dict()


class GanLoss(NamedTuple):
    step: int
    losses: tuple  # d_loss, g_loss, d_real, d_fake


def gan_training(g_ch: int, d_ch: int, steps: int, lr: float, seed: int, mnist_dir: str, judge: str = "default",
                 device: str = "cpu", snapshot_every: int = 50, fixed_seed: int = 0) -> Iterator:
    """Train a small DCGAN on MNIST; yields ``GanLoss`` every 10 steps and ``GanSamples`` (scored by the
    shipped CNN ``judge``) at every snapshot."""
    from dl_core import cnn, data, dcgan, gan_judge

    dev = torch.device(device)
    images = data.load_split(True, Path(mnist_dir)).images
    judge_net = cnn.load(ASSETS / f"cnn_{judge}.pt", dev).eval()
    cfg = dcgan.DCGANConfig(g_ch=g_ch, d_ch=d_ch)
    tcfg = dcgan.TrainConfig(steps=steps, batch_size=64, lr=lr, ema=0.0, seed=seed, snapshot_every=snapshot_every)
    it = dcgan.train(cfg, tcfg, images, dev, dcgan.noise(64, cfg.z_dim, fixed_seed, dev), report_every=10)
    next(it)  # the generator module itself stays here
    for ev in it:
        if ev.samples is not None:
            yield GanSamples(ev.step, ev.samples.numpy(), gan_judge.judge(judge_net, ev.samples).as_dict())
        if ev.losses is not None and ev.step % 10 == 0:
            yield GanLoss(ev.step, tuple(ev.losses))


def rnn_race(distance: int, steps: int, eval_every: int = 20, device: str = "cpu") -> Iterator:
    """The RNN / GRU / LSTM race of ``rnn_train.race_steps`` (RaceEvent, RaceTick)."""
    from dl_core.rnn_train import race_steps

    yield from race_steps(distance, steps=steps, eval_every=eval_every, device=torch.device(device))


class DiffusionFrame(NamedTuple):
    t: int  # timestep of x_t
    index: int  # sampler step
    grids: np.ndarray  # (3, H, W) uint8: x_t, the predicted noise, x0-hat, each n samples tiled `cols` wide


class SamplingDone(NamedTuple):
    seconds: float  # wall time of the whole sampling


def tile(imgs: np.ndarray, cols: int, gap: int = 1, fill: float = 0.5) -> np.ndarray:
    """(N, H, W) -> one (rows*(H+gap)-gap, cols*(W+gap)-gap) image, row-major."""
    n, h, w = imgs.shape
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), fill, dtype=np.float32)
    for i in range(n):
        r, c = divmod(i, cols)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = imgs[i]
    return out


def diffusion_sampling(model_kind: str, digit: int, n: int, seed: int, guidance: float, method: str, steps: int,
                       device: str = "cpu", ddpm_every: int = 10) -> Iterator:
    """Sample ``n`` digits with the shipped pixel U-Net or latent model (DDIM in ``steps`` or DDPM's 1000,
    keeping every ``ddpm_every``-th DDPM frame and the last); yields a ``DiffusionFrame`` per kept step, then
    ``SamplingDone``. Latents are decoded to pixels here, so frames are always 28x28 pictures."""
    import time

    from dl_core import diffusion as D
    from dl_core import latent, unet

    dev = torch.device(device)
    g = torch.Generator(device=dev).manual_seed(int(seed))
    y = torch.full((n,), int(digit), dtype=torch.long, device=dev)
    if model_kind == "latent":
        ae, model = latent.load_ae(ASSETS / "diffusion_ae.pt", dev), latent.load(ASSETS / "diffusion_latent.pt", dev)
        shape, clip = (n, *latent.LATENT_SHAPE), model.x0_range(y.float())

        def decode(z):
            return latent.decode(ae, model, z)
    else:
        model = unet.load(ASSETS / "diffusion_unet.pt", dev)
        shape, clip = (n, 1, 28, 28), True

        def decode(x):
            return x
    sched = D.make_schedule(model.cfg.schedule, model.cfg.T)
    sampler = D.ddpm_sample(model, y, sched, shape, guidance, generator=g, device=dev, clip=clip) if method == "ddpm" \
        else D.ddim_sample(model, y, sched, shape, steps, guidance, generator=g, device=dev, clip=clip)
    cols, t0 = min(n, 4), time.time()
    for step in sampler:
        if method == "ddpm" and step.index % ddpm_every != 0 and step.t != 0:
            continue
        with torch.no_grad():
            xt, eps, x0 = (a[:, 0].cpu().numpy() for a in (decode(step.x_t), step.eps, decode(step.x0_hat)))
        if eps.shape[-1] != 28:  # latent noise (7x7): nearest-neighbour up to 28x28 for display
            eps = eps.repeat(4, axis=1).repeat(4, axis=2)
        units = (np.clip((xt + 1) / 2, 0, 1), np.clip(eps / 6 + 0.5, 0, 1), np.clip((x0 + 1) / 2, 0, 1))
        grids = np.stack([(tile(u, cols) * 255).astype(np.uint8) for u in units])
        yield DiffusionFrame(step.t, step.index, grids)
    yield SamplingDone(time.time() - t0)
