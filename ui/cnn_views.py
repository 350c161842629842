"""Sections of the CNN page. Heavy arrays and chart data are cached by (model key, input bytes)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
import torch

from dl_core import cnn, digits
from ui import charts, cnn_filters
from ui.canvas import digit_canvas


# ---------------------------------------------------------------- input -----------------------
def input_panel() -> tuple[np.ndarray | None, str | None]:
    """The chosen input as ink (H, W) in [0, 1], or (None, message) when there is nothing usable."""
    source = st.segmented_control("Input", ["Draw", "Font digit", "Upload"], default="Draw", key="cnn_source")
    if source == "Font digit":
        c1, c2, c3 = st.columns(3)
        d = c1.selectbox("Digit", list(range(10)), index=7, key="cnn_font_digit")
        rot = c2.slider("Rotate (deg)", -45, 45, 0, key="cnn_font_rot")
        bold = c3.slider("Boldness", 0, 12, 4, key="cnn_font_bold")
        return _font_ink(d, rot, bold), None
    if source == "Upload":
        up = st.file_uploader("A PNG or JPEG of one digit (at most 5 MB)", type=["png", "jpg", "jpeg"],
                              key="cnn_upload")
        if up is None:
            return None, ("Upload a photo or scan of a single digit: dark on light or light on dark both work, "
                          "under uneven light too; a phone's rotation tag is followed.")
        return _read_upload(up.getvalue()[:digits.MAX_UPLOAD_BYTES + 1])  # one byte more still says "too large"
    st.caption("Draw one digit, big, anywhere on the black square.")
    rgba = digit_canvas("cnn_canvas")
    if rgba is None:
        return None, "Draw a digit on the canvas to see the network at work."
    return digits.to_ink(rgba), None


@st.cache_data(max_entries=16, show_spinner=False)
def _read_upload(raw: bytes) -> tuple[np.ndarray | None, str | None]:
    """Decoding and cleaning a photo takes ~0.1-0.3 s: once per file, not on every rerun."""
    try:
        return digits.read_upload(raw), None
    except digits.BadImage as err:
        return None, f"That upload cannot be used: {err}"


@st.cache_data(max_entries=64, show_spinner=False)
def _font_ink(d: int, rot: int, bold: int) -> np.ndarray:
    return digits.render_digit(d, rotation=rot, stroke=bold)


@st.cache_data(show_spinner=False)
def example_digit() -> np.ndarray:
    """A font-rendered 7, MNIST-style: what the kernel playground shows before anything is drawn."""
    return digits.prepare(digits.render_digit(7, stroke=4)).centred


STRIP = ("what you drew", "crop to the ink", "fit 20x20", "centre of mass at the centre, 28x28")


@st.cache_data(max_entries=256, show_spinner=False)
def _strip_pngs(x_bytes: bytes, _prep: digits.Prepared) -> list[tuple[bytes, int]]:
    """PNG bytes (about 84 px, nearest-neighbour so pixels stay visible) of each preprocessing stage."""
    out = []
    for img in (_prep.ink, _prep.cropped, _prep.fitted, _prep.centred):
        im = charts.to_uint8(img, 0.0, 1.0)
        if max(im.shape) > 84:  # the raw drawing: shrink, keep the aspect ratio
            step = -(-max(im.shape) // 84)
            im = im[::step, ::step]
        factor = max(1, 84 // max(im.shape))
        out.append((charts.png(charts.upscale(im, factor)), min(84, factor * max(im.shape))))
    return out


def preprocessing_strip(x_bytes: bytes, prep: digits.Prepared) -> None:
    for col, label, (png, width) in zip(st.columns(len(STRIP)), STRIP, _strip_pngs(x_bytes, prep)):
        col.image(png, caption=label, width=width)


# ---------------------------------------------------------------- analysis --------------------
@st.cache_data(max_entries=256, show_spinner=False)
def analysis(model_key: str, x_bytes: bytes, _model) -> dict:
    """Probabilities, every stage's output, the saliency map. Keyed by model and input only."""
    x = torch.from_numpy(np.frombuffer(x_bytes, dtype=np.float32).copy()).view(1, 1, 28, 28)
    a = cnn.analyse(_model, x.to(next(_model.parameters()).device))
    return {
        "probs": a.probs.cpu().numpy(),
        "pred": a.pred,
        "saliency": a.saliency.cpu().numpy(),
        "stages": [(s.name, s.kind, s.out[0].cpu().numpy(), s.params) for s in a.stages],
    }


# viridis at 9 stops (its published anchor colours), interpolated to a 256-entry lookup table
_VIRIDIS = np.array([[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
                     [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]], dtype=float)
VIRIDIS = np.stack([np.interp(np.linspace(0, 8, 256), np.arange(9), _VIRIDIS[:, c]) for c in range(3)], 1).astype(np.uint8)
MAX_GRID_PX = 820  # the feature-map picture is at most this wide


def maps_grid(maps: np.ndarray, signed: bool) -> tuple[np.ndarray, int, float]:
    """(C, H, W) feature maps -> one RGB picture (a tile per channel, 1 px gaps), the column count, and the
    largest magnitude the colours span (signed: blue -m .. white 0 .. red +m; else viridis 0 .. m)."""
    c, h, w = maps.shape
    cols = 5 if c <= 20 else 8
    rows = -(-c // cols)
    m = float(np.abs(maps).max()) or 1.0
    rgb = charts.diverging_rgb(maps) if signed else VIRIDIS[charts.to_uint8(np.clip(maps, 0, None), 0.0, m)]  # (C, H, W, 3)
    grid = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1, 3), 255, dtype=np.uint8)
    for i in range(c):
        r, q = divmod(i, cols)
        grid[r * (h + 1):r * (h + 1) + h, q * (w + 1):q * (w + 1) + w] = rgb[i]
    return grid, cols, m


@st.cache_data(max_entries=256, show_spinner=False)
def stage_png(model_key: str, x_bytes: bytes, stage: str, _maps: np.ndarray, signed: bool) -> tuple[bytes, int, float]:
    """A raster picture of one stage's maps (no per-cell chart marks: cheap to send and to paint), its width in px."""
    grid, _, m = maps_grid(_maps, signed)
    factor = max(1, min(12, MAX_GRID_PX // grid.shape[1]))
    return charts.png(charts.upscale(grid, factor)), grid.shape[1] * factor, m


@st.fragment
def feature_maps(model_key: str, x_bytes: bytes, res: dict) -> None:
    spatial = [(n, k, o) for n, k, o, _ in res["stages"] if o.ndim == 3]
    names = [n for n, _, _ in spatial]
    default = names[2] if len(names) > 2 else names[0]
    name = st.select_slider("Walk through the network: stage", names, value=default, key="cnn_stage")
    _, kind, maps = next(s for s in spatial if s[0] == name)
    signed = kind in ("conv", "batchnorm") or maps.min() < 0
    st.caption(f"**{name}** ({kind}): {maps.shape[0]} channels of {maps.shape[1]}x{maps.shape[2]}. "
               + ("Red is positive, white zero, blue negative" if signed else "Dark purple is zero, yellow the strongest")
               + " activation in this stage.")
    img, width, m = stage_png(model_key, x_bytes, name, maps, signed)
    st.image(img, width=width, caption=f"{maps.shape[0]} maps, colours from {-m if signed else 0:.2f} to {m:.2f}")
    flat = [(n, o) for n, k, o, _ in res["stages"] if o.ndim == 1 and k == "relu"]
    if flat:
        n, o = flat[0]
        df = pd.DataFrame({"unit": np.arange(len(o)), "activation": o})
        charts.show(charts.bars_vl(df, "unit", "activation", f"after {n}: the {len(o)} units of the first fully connected layer",
                                   height=240))


@st.cache_data(max_entries=16, show_spinner=False)
def filter_images(model_key: str, _model) -> list[tuple[str, str, bytes]]:
    return [(name, *cnn_filters.layer_png(conv.weight.detach().cpu().numpy(), name))
            for name, conv in cnn.conv_layers(_model)]


def filters(model_key: str, model) -> None:
    st.caption("Learned weights: red positive, white zero, blue negative.")
    for _, desc, img in filter_images(model_key, model):
        st.markdown(desc)
        st.image(img, width="content")


@st.cache_data(max_entries=256, show_spinner=False)
def _saliency_png(model_key: str, x_bytes: bytes, _centred: np.ndarray, _sal: np.ndarray) -> bytes:
    return charts.png(charts.upscale(charts.saliency_overlay(_centred, _sal), 8))


def saliency(model_key: str, x_bytes: bytes, res: dict, prep: digits.Prepared) -> None:
    c1, c2 = st.columns(2)
    c1.image(_saliency_png(model_key, x_bytes, prep.centred, res["saliency"]),
             caption=f"Saliency over the input: which pixels most change the score of '{res['pred']}'", width=224)
    charts.show(charts.heatmap_vl(res["saliency"], cell=8, scheme="reds", title="|d logit / d pixel|"), c2)


def architecture(res: dict) -> None:
    rows = [{"layer": "input", "kind": "input", "output shape": "1 x 28 x 28", "parameters": 0}]
    rows += [{"layer": n, "kind": k, "output shape": " x ".join(map(str, o.shape)), "parameters": p}
             for n, k, o, p in res["stages"]]
    df = pd.DataFrame(rows)
    st.dataframe(df, hide_index=True, width="stretch")
    st.caption(f"Total parameters: **{df['parameters'].sum():,}** (batch norm's running statistics are buffers, not parameters).")


