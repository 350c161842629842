"""Shipped diffusion models, loaded once per process, and cached sampling runs."""
from __future__ import annotations

import time

import numpy as np
import streamlit as st
import torch

from dl_core import diffusion as D
from dl_core import latent, unet
from dl_core.cards import ASSETS
from ui.common import device
from ui.models import model_card

PIXEL, LATENT = "diffusion_unet", "diffusion_latent"
MAX_SAMPLES = 16


@st.cache_resource
def pixel_model() -> unet.UNet:
    return unet.load(ASSETS / f"{PIXEL}.pt", device())


@st.cache_resource
def latent_models() -> tuple[latent.AutoEncoder, latent.LatentDenoiser]:
    return latent.load_ae(ASSETS / "diffusion_ae.pt", device()), latent.load(ASSETS / f"{LATENT}.pt", device())


@st.cache_resource
def schedule(kind: str, T: int = 1000) -> D.Schedule:
    return D.make_schedule(kind, T)


def card(name: str) -> dict:
    return model_card(name)


def run_total(c: dict, key: str) -> float:
    """A card's ``key`` (e.g. "steps", "train_time_s") summed over its run and every run it continued
    from (``--init``), which the card nests under ``continued_from.previous_run``."""
    return float(c.get(key, 0)) + run_total(c.get("continued_from", {}).get("previous_run", {}), key) if c else 0.0


def sampled_settings(state_key: str, current: tuple, label: str, button_key: str, **button) -> tuple:
    """The settings whose samples are shown: the current ones on the first run (the defaults, cached
    for everyone), then those that were current when the button was last pressed. Sampling costs the
    shared server 0.3-0.8 s of CPU, so moving a slider alone does not sample."""
    if state_key not in st.session_state:
        st.session_state[state_key] = current
    if st.button(label, key=button_key, **button):
        st.session_state[state_key] = current
    return st.session_state[state_key]


def default_guidance(kind: str = "pixel") -> float:
    """The guidance scale a model's card was judged with, and the page's default for that model."""
    return float(card(PIXEL if kind == "pixel" else LATENT).get("default_guidance", 3.0))


def sampler(model_kind: str, digit: int, n: int, seed: int, guidance: float, method: str, steps: int):
    """A fresh generator of ``D.Step`` for the shipped pixel or latent model."""
    dev = device()
    g = torch.Generator(device=dev).manual_seed(int(seed))
    y = torch.full((n,), int(digit), dtype=torch.long, device=dev)
    if model_kind == "latent":
        _, model = latent_models()
        shape = (n, *latent.LATENT_SHAPE)
        clip = model.x0_range(y.float())  # x0-hat clamped to the range of the normalised training latents
    else:
        model = pixel_model()
        shape = (n, 1, 28, 28)
        clip = True  # pixels: [-1, 1]
    sched = schedule(model.cfg.schedule, model.cfg.T)
    if method == "ddpm":
        return D.ddpm_sample(model, y, sched, shape, guidance, generator=g, device=dev, clip=clip)
    return D.ddim_sample(model, y, sched, shape, steps, guidance, generator=g, device=dev, clip=clip)


def decode_latent(z: torch.Tensor) -> torch.Tensor:
    """Normalised latents from the sampler -> images in [-1, 1]."""
    return latent.decode(*latent_models(), z)


@st.cache_data(max_entries=64, show_spinner=False)
def final_samples(model_kind: str, digit: int, n: int, seed: int, guidance: float, steps: int) -> tuple[np.ndarray, float]:
    """DDIM to the end: (n, 28, 28) images in [0, 1] and the seconds it took."""
    t0 = time.perf_counter()
    with torch.no_grad():
        x = D.final(sampler(model_kind, digit, n, seed, guidance, "ddim", steps))
        if model_kind == "latent":
            x = decode_latent(x)
        return D.to_unit(x)[:, 0].cpu().numpy(), time.perf_counter() - t0


@st.cache_data(max_entries=32, show_spinner=False)
def latent_trajectory(digit: int, n: int, seed: int, guidance: float, steps: int) -> dict:
    """Every DDIM step of the latent model: z_t (S, n, 4, 7, 7), its decoding and x0-hat decoded (S, n, 28, 28)."""
    zs, dec, x0s, ts = [], [], [], []
    t0 = time.perf_counter()
    with torch.no_grad():
        for step in sampler("latent", digit, n, seed, guidance, "ddim", steps):
            zs.append(step.x_t.cpu().numpy())
            dec.append(D.to_unit(decode_latent(step.x_t))[:, 0].cpu().numpy())
            x0s.append(D.to_unit(decode_latent(step.x0_hat))[:, 0].cpu().numpy())
            ts.append(step.t)
    return {"z": np.stack(zs), "decoded": np.stack(dec), "x0_decoded": np.stack(x0s), "t": ts,
            "seconds": time.perf_counter() - t0}
