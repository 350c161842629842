"""The image tab of the encoder-decoder page: a convolutional autoencoder with a 2-D bottleneck."""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from dl_core import autoencoder as ae
from dl_core import digits
from ui import charts
from ui import seq2seq_charts as sc
from ui import seq2seq_models as sm
from ui import my_digit
from ui.canvas import digit_canvas

SCALE = 4  # 28 px -> 112 px on screen


@st.cache_data(max_entries=64)
def font_digit(d: int) -> bytes:
    """A font-rendered digit, MNIST-prepared, as float32 bytes (28, 28) in [0, 1]."""
    return digits.prepare(digits.render_digit(d)).centred.astype(np.float32).tobytes()


def _img(arr: np.ndarray) -> bytes:
    return charts.png(charts.upscale(charts.to_uint8(arr, 0.0, 1.0), SCALE))


@st.cache_data(max_entries=256)
def analyse(x_bytes: bytes) -> dict:
    """Every stage of the autoencoder for one (28, 28) digit, with PNG bytes for the images."""
    x = torch.from_numpy(np.frombuffer(x_bytes, dtype=np.float32).reshape(28, 28).copy())
    with torch.no_grad():
        tr = sm.autoencoder().trace(ae.to_input(x[None]))
    out = tr.out[0, 0].numpy()
    err = (out - x.numpy()) ** 2
    f1, f2 = tr.f1[0].numpy(), tr.f2[0].numpy()
    return {"x_png": _img(x.numpy()), "out_png": _img(out), "err_png": _img(err / max(float(err.max()), 1e-6)),
            "mse": float(err.mean()), "z": tr.z[0].numpy(),
            "f1": charts.grid_frame(f1 / max(float(f1.max()), 1e-6), cols=8),
            "f2": charts.grid_frame(f2 / max(float(f2.max()), 1e-6), cols=8)}


@st.cache_data(max_entries=128)
def interpolation(a_bytes: bytes, b_bytes: bytes, steps: int) -> tuple[np.ndarray, list[bytes]]:
    a = torch.from_numpy(np.frombuffer(a_bytes, dtype=np.float32).reshape(28, 28).copy())
    b = torch.from_numpy(np.frombuffer(b_bytes, dtype=np.float32).reshape(28, 28).copy())
    z, imgs = ae.interpolate(sm.autoencoder(), a, b, steps)
    return z, [charts.png(charts.upscale(charts.to_uint8(im, 0.0, 1.0), 3)) for im in imgs]


def digit_input() -> bytes | None:
    """The user's digit: a font-rendered one or a drawing. Returns (28, 28) float32 bytes or None."""
    source = st.radio("Digit", my_digit.sources("Font digit", "Draw"), key="ae_source", horizontal=True)
    if source == my_digit.LABEL and my_digit.get() is not None:
        return my_digit.get().astype(np.float32).tobytes()
    if source == "Font digit":
        d = st.selectbox("Which digit", list(range(10)), index=3, key="ae_digit")
        return font_digit(int(d))
    image = digit_canvas(key="ae_canvas")
    if image is None:
        st.info("Draw a digit on the canvas.", icon=":material/draw:")
        return None
    prep = digits.prepare(digits.to_ink(image))
    if prep is None:
        st.info("The canvas is empty: draw a digit on it.", icon=":material/draw:")
        return None
    return prep.centred.astype(np.float32).tobytes()


def tab() -> None:
    c = sm.card("autoencoder")
    st.markdown("The same idea for images (the course's figure): a convolutional **encoder** squeezes the "
                "digit into a **bottleneck** of just two numbers, and a **decoder** unfolds them into a picture. "
                f"Shipped model: test reconstruction error (pixel MSE) **{c['test_mse']:.4f}**, "
                f"{c['parameters']:,} parameters, `{c['command']}`.")
    left, right = st.columns([1, 1.6], gap="large")
    with left:
        x_bytes = digit_input()
    if x_bytes is None:
        return
    res = analyse(x_bytes)
    with right:
        cols = st.columns(3)
        cols[0].image(res["x_png"], caption="input (28x28)")
        cols[1].image(res["out_png"], caption="reconstruction")
        cols[2].image(res["err_png"], caption="squared error (scaled)")
        z = res["z"]
        m1, m2 = st.columns(2)
        m1.metric("Bottleneck code z", f"({z[0]:.2f}, {z[1]:.2f})")
        m2.metric("Reconstruction error", f"{res['mse']:.4f}", "pixel MSE", delta_color="off", delta_arrow="off")
    st.markdown("**Encoder feature maps** (after each strided convolution + ReLU): 16 maps of 14x14, then 32 "
                "of 7x7, which a linear layer turns into the 2 numbers of z.")
    charts.show(charts.heatmap_grid_vl(res["f1"], cell=4, domain=(0, 1), title="conv1: 16 x 14x14"))
    charts.show(charts.heatmap_grid_vl(res["f2"], cell=6, domain=(0, 1), title="conv2: 32 x 7x7"))
    z_all, labels = sm.latents()
    st.markdown(f"**The latent map**: the 2-D codes of {len(labels):,} MNIST test digits, coloured by their true "
                "class (the model never saw labels). The black diamond is your digit.")
    charts.show(sc.latent_vl(z_all, labels, z))
    st.caption("Two numbers are a very narrow bottleneck: reconstructions come out blurry and look-alike classes "
               "(4 and 9; 3, 5 and 8) overlap on the map. Font digits are drawn unlike handwriting (the 1 has "
               "a foot), so they may land among another class.")
    interpolation_section(x_bytes)


@st.fragment
def interpolation_section(x_bytes: bytes) -> None:
    st.markdown("**Interpolation**: walk the straight line between two codes and decode every point.")
    c1, c2 = st.columns(2)
    a = c1.selectbox("From", ["your digit"] + list(range(10)), key="ae_from")
    b = c2.selectbox("To (font digit)", list(range(10)), index=1, key="ae_to")
    a_bytes = x_bytes if a == "your digit" else font_digit(int(a))
    z, pngs = interpolation(a_bytes, font_digit(int(b)), 9)
    cols = st.columns(len(pngs))
    for col, png, code in zip(cols, pngs, z):
        col.image(png, caption=f"({code[0]:.1f}, {code[1]:.1f})")
