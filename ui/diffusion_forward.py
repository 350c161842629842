"""The diffusion page's forward-process tab: your digit, q(x_t | x_0), the schedules, the equation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
import torch

from dl_core import diffusion as D
from dl_core import digits
from ui import charts
from ui import diffusion_charts as dc
from ui import my_digit
from ui.canvas import digit_canvas
from ui.diffusion_models import schedule

STRIP_T = (0, 50, 100, 200, 300, 500, 700, 1000)


@st.cache_data(max_entries=32, show_spinner=False)
def font_digit(d: int) -> np.ndarray:
    """A font-rendered digit, MNIST-style 28x28 in [0, 1]."""
    return digits.prepare(digits.render_digit(d, stroke=4)).centred


@st.cache_data(show_spinner=False)
def schedule_frame() -> pd.DataFrame:
    """beta, alpha-bar and SNR for t = 1..1000 (every 5th step) for both schedules, long format. t = 0 (no
    noise yet: beta 0, SNR infinite) is left out, so both can be drawn on log scales."""
    rows = []
    for kind in ("linear", "cosine"):
        s = schedule(kind)
        t = np.r_[1, np.arange(5, 1001, 5)]
        rows.append(pd.DataFrame({"t": t, "schedule": kind, "beta": s.betas.numpy()[t],
                                  "alpha_bar": s.alpha_bar.numpy()[t],
                                  "snr": np.clip(s.snr.numpy()[t], 1e-6, 1e6)}))
    return pd.concat(rows, ignore_index=True)


def _noise(seed: int) -> torch.Tensor:
    return torch.randn((1, 1, 28, 28), generator=torch.Generator().manual_seed(int(seed)))


@st.cache_data(max_entries=256, show_spinner=False)
def noised_png(x0_bytes: bytes, kind: str, t: int, seed: int) -> bytes:
    """x_t for one t: the same noise (by seed) for every t, so only the schedule's weights change."""
    x0 = torch.from_numpy(np.frombuffer(x0_bytes, dtype=np.float32).reshape(1, 1, 28, 28).copy()) * 2 - 1
    x_t = D.q_sample(x0, t, _noise(seed), schedule(kind))
    return dc.to_png_gray(dc.signed_to_unit(x_t[0, 0].numpy()), 6)


@st.cache_data(max_entries=64, show_spinner=False)
def strip_png(x0_bytes: bytes, kind: str, seed: int) -> bytes:
    x0 = torch.from_numpy(np.frombuffer(x0_bytes, dtype=np.float32).reshape(1, 1, 28, 28).copy()) * 2 - 1
    noise = _noise(seed)
    frames = [D.q_sample(x0, t, noise, schedule(kind))[0, 0].numpy() for t in STRIP_T]
    return dc.to_png_gray(dc.tile(dc.signed_to_unit(np.stack(frames)), cols=len(STRIP_T), gap=2, fill=1.0), 3)


def digit_input() -> tuple[np.ndarray | None, str]:
    options = my_digit.sources("Font digit", "Draw")
    source = st.segmented_control("Your digit", options, default=options[0], key="diff_source")
    if source == my_digit.LABEL and my_digit.get() is not None:
        return my_digit.get(), "your digit from the CNN page"
    if source == "Draw":
        rgba = digit_canvas(key="diff_canvas")
        if rgba is None:
            return None, "Draw a digit on the canvas (or switch to a font digit) to noise it."
        prep = digits.prepare(digits.to_ink(rgba))
        if prep is None:
            return None, "The drawing is empty: draw a digit to noise it."
        return prep.centred, "your drawing"
    d = st.selectbox("Digit", list(range(10)), index=3, key="diff_font_digit")
    return font_digit(d), f"a font-rendered {d}"


def tab() -> None:
    st.markdown(
        "The **forward process** destroys an image step by step: at every step a little Gaussian noise is "
        "added, and thanks to a closed form we can jump to any step $t$ directly: "
        "$x_t = \\sqrt{\\bar\\alpha_t}\\,x_0 + \\sqrt{1-\\bar\\alpha_t}\\,\\epsilon$, $\\epsilon \\sim N(0, I)$. "
        "Pixels are scaled to $[-1, 1]$ first. The noise $\\epsilon$ is drawn once (from the seed) and reused, "
        "so moving the slider changes only the mixing weights."
    )
    left, right = st.columns([1, 1.3], gap="large")
    with left:
        x0, what = digit_input()
    if x0 is None:
        right.info(what, icon=":material/draw:")
        return
    with right:
        c1, c2 = st.columns(2)
        kind = c1.radio("Schedule", ["linear", "cosine"], key="diff_schedule", horizontal=True)
        seed = c2.number_input("Noise seed", 0, 10_000, 0, key="diff_noise_seed")
        t = st.slider("Timestep t", 0, 1000, 250, key="diff_t")
        x0_bytes = x0.astype(np.float32).tobytes()
        s = schedule(kind)
        ab = float(s.alpha_bar[t])
        i1, i2 = st.columns([1, 1.4])
        i1.image(noised_png(x0_bytes, kind, int(t), int(seed)), caption=f"x_{t} from {what}", width=168)
        with i2:
            st.latex(r"x_{%d} = \sqrt{%.4f}\,x_0 + \sqrt{%.4f}\,\epsilon" % (t, ab, 1 - ab))
            st.latex(r"= %.3f\,x_0 + %.3f\,\epsilon" % (ab ** 0.5, (1 - ab) ** 0.5))
            snr = "\\infty" if t == 0 else f"{float(s.snr[t]):.4g}"
            st.latex(r"\beta_{%d} = %.5f,\ \bar\alpha_{%d} = %.4f" % (t, float(s.betas[t]), t, ab))
            st.latex(r"\mathrm{SNR}_{%d} = \bar\alpha_{%d} / (1 - \bar\alpha_{%d}) = %s" % (t, t, t, snr))
            st.caption("SNR: signal power over noise power. At t = 1000 the image is (almost) pure noise, "
                       "which is where sampling starts.")
    st.image(strip_png(x0_bytes, kind, int(seed)), caption="x_t at t = " + ", ".join(map(str, STRIP_T)) +
             f" ({kind} schedule, the same noise)")
    st.markdown("**The schedules side by side.** The cosine schedule (Nichol & Dhariwal 2021) destroys "
                "information more slowly at the start, so fewer steps are wasted on pure noise.")
    df = schedule_frame()
    c1, c2, c3 = st.columns(3)
    charts.show(dc.schedule_vl(df, "beta", "beta_t (noise per step, log)", t, log=True), c1)
    charts.show(dc.schedule_vl(df, "alpha_bar", "alpha-bar_t (signal kept)", t), c2)
    charts.show(dc.schedule_vl(df, "snr", "SNR_t (log)", t, log=True), c3)
