"""Chart and image helpers shared by pages. Inputs are numpy arrays; outputs are charts or uint8 images.

Two kinds of chart helpers:
* ``*_vl`` functions return ``VL(data, spec)``: a hand-written Vega-Lite spec (cached, no schema
  validation) plus a small DataFrame; draw with ``show(chart)``. A rerun pays ~1-3 ms per chart.
  Use these on every page that reruns often.
* the Altair functions (``heatmap``, ``heatmap_grid``, ``prob_bars``, ``line_chart``) are convenient,
  but Altair's ``to_dict`` costs 20-80 ms per chart and rerun; avoid them on hot paths.
"""
from __future__ import annotations

import copy
import functools
import textwrap
from typing import NamedTuple

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from ui import present


class VL(NamedTuple):
    data: pd.DataFrame | None  # the chart's one dataset
    spec: dict  # Vega-Lite spec without data


TITLE_CHARS = 38  # Streamlit cuts a chart title at its width - 40 px: about this many characters on a phone


def wrap_title(title):
    """A long chart title as lines of at most TITLE_CHARS characters (Vega draws a list as lines)."""
    if isinstance(title, str) and len(title) > TITLE_CHARS:
        return textwrap.wrap(title, TITLE_CHARS)
    return title


def with_wrapped_title(spec: dict) -> dict:
    """The spec (a copy when changed) with its top-level title wrapped, string or {"text": ...}."""
    t = spec.get("title")
    if isinstance(t, str) and len(t) > TITLE_CHARS:
        return {**spec, "title": wrap_title(t)}
    if isinstance(t, dict) and isinstance(t.get("text"), str) and len(t["text"]) > TITLE_CHARS:
        return {**spec, "title": {**t, "text": wrap_title(t["text"])}}
    return spec


def show(chart: VL, where=None, **kwargs) -> None:
    """Draw a ``VL`` chart in ``where`` (default: the current container); a long title is wrapped."""
    kwargs.setdefault("width", "content" if "width" in chart.spec else "stretch")
    (where or st).vega_lite_chart(chart.data, present.vega(with_wrapped_title(copy.deepcopy(chart.spec))), **kwargs)


@functools.lru_cache(maxsize=512)
def _heatmap_spec(width: int, height: int, scheme: str, domain: tuple | None, title: str, grid: bool) -> dict:
    scale = {"scheme": scheme, **({"domain": list(domain)} if domain else {})}
    if scheme == "redblue":  # Vega's redblue runs red -> blue; we want negative blue, positive red
        scale["reverse"] = True
    tooltip = ([{"field": "channel", "type": "quantitative"}] if grid else []) + [
        {"field": "row", "type": "quantitative"}, {"field": "col", "type": "quantitative"},
        {"field": "value", "type": "quantitative", "format": ".3f"}]
    return {
        "title": title, "width": width, "height": height, "mark": {"type": "rect"},
        "encoding": {
            "x": {"field": "x", "type": "ordinal", "axis": None},
            "y": {"field": "y", "type": "ordinal", "axis": None},
            "color": {"field": "value", "type": "quantitative", "scale": scale,
                      "legend": {"orient": "right", "gradientLength": 120}},
            "tooltip": tooltip,
        },
        "config": {"view": {"strokeWidth": 0}},
        # width/height size the cells; a legend taller than the cells adds to the height (Streamlit's default
        # "fit" squeezed it into the cells' height and cut its lowest label off)
        "autosize": {"type": "pad"},
    }


def heatmap_grid_vl(df: pd.DataFrame, cell: float, scheme: str = "viridis", domain=None, title: str = "") -> VL:
    """All channels of a ``grid_frame`` in one chart (one dataset, one mark), with hover values."""
    width = int((int(df["x"].max()) + 1) * cell)
    height = int((int(df["y"].max()) + 1) * cell)
    grid = int(df["channel"].max()) > 0
    return VL(df, _heatmap_spec(width, height, scheme, tuple(domain) if domain else None, title, grid))


def heatmap_vl(arr: np.ndarray, cell: float = 8, scheme: str = "viridis", domain=None, title: str = "") -> VL:
    """One 2-D array with hover values (row, col, value)."""
    return heatmap_grid_vl(grid_frame(arr[None], cols=1), cell, scheme, domain, title)


_PROB_SPEC = {
    "height": 220, "mark": {"type": "bar"},
    "encoding": {
        "x": {"field": "digit", "type": "nominal", "sort": None, "axis": {"labelAngle": 0}},
        "y": {"field": "probability", "type": "quantitative", "scale": {"domain": [0, 1]}},
        "color": {"field": "predicted", "type": "nominal", "legend": None,
                  "scale": {"domain": ["yes", "no"], "range": ["#e4572e", "#8fa9c7"]}},
        "tooltip": [{"field": "digit", "type": "nominal"},
                    {"field": "probability", "type": "quantitative", "format": ".4f"}],
    },
}


def prob_bars_vl(probs: np.ndarray, pred: int) -> VL:
    df = pd.DataFrame({"digit": [str(i) for i in range(len(probs))], "probability": probs.astype(float),
                       "predicted": ["yes" if i == pred else "no" for i in range(len(probs))]})
    return VL(df, _PROB_SPEC)


@functools.lru_cache(maxsize=64)
def _line_spec(x: str, y: str, title: str, height: int) -> dict:
    return {
        "title": title, "height": height, "mark": {"type": "line"},
        "encoding": {"x": {"field": x, "type": "quantitative"},
                     "y": {"field": y, "type": "quantitative", "scale": {"zero": False}},
                     "tooltip": [{"field": x, "type": "quantitative"},
                                 {"field": y, "type": "quantitative", "format": ".4f"}]},
    }


@functools.lru_cache(maxsize=64)
def _bar_spec(x: str, y: str, title: str, height: int) -> dict:
    return {
        "title": title, "height": height, "mark": {"type": "bar"},
        "encoding": {"x": {"field": x, "type": "ordinal", "axis": {"labelAngle": 0}},
                     "y": {"field": y, "type": "quantitative"},
                     "tooltip": [{"field": x, "type": "ordinal"},
                                 {"field": y, "type": "quantitative", "format": ".3f"}]},
    }


def bars_vl(df: pd.DataFrame, x: str, y: str, title: str = "", height: int = 160) -> VL:
    return VL(df, _bar_spec(x, y, title, height))


def line_vl(df: pd.DataFrame, x: str, y: str, title: str = "", height: int = 200) -> VL:
    return VL(df, _line_spec(x, y, title, height))


def grid_frame(maps: np.ndarray, cols: int, gap: int = 1) -> pd.DataFrame:
    """(C, H, W) maps laid out in a grid, one row per pixel: x, y (grid coords), channel, row, col, value."""
    c, h, w = maps.shape
    ch, r, q = np.meshgrid(np.arange(c), np.arange(h), np.arange(w), indexing="ij")
    return pd.DataFrame({
        "x": ((ch % cols) * (w + gap) + q).ravel().astype(np.int16),
        "y": ((ch // cols) * (h + gap) + r).ravel().astype(np.int16),
        "channel": ch.ravel().astype(np.int16),
        "row": r.ravel().astype(np.int16),
        "col": q.ravel().astype(np.int16),
        "value": np.round(maps.ravel(), 3).astype(np.float32),
    })


def heatmap_grid(df: pd.DataFrame, cell: float, scheme: str = "viridis", domain=None, title: str = "") -> alt.Chart:
    """All channels of one stage as a single chart (no facets: one dataset, one mark), with hover values."""
    width = int((df["x"].max() + 1) * cell)
    height = int((df["y"].max() + 1) * cell)
    scale = alt.Scale(scheme=scheme, domain=domain) if domain else alt.Scale(scheme=scheme)
    return (
        alt.Chart(df, title=title)
        .mark_rect()
        .encode(
            x=alt.X("x:O", axis=None),
            y=alt.Y("y:O", axis=None),
            color=alt.Color("value:Q", scale=scale, legend=alt.Legend(orient="right", gradientLength=120)),
            tooltip=["channel", "row", "col", alt.Tooltip("value:Q", format=".3f")],
        )
        .properties(width=width, height=height)
        .configure_view(strokeWidth=0)
    )


def heatmap(arr: np.ndarray, cell: float = 8, scheme: str = "viridis", domain=None, title: str = "") -> alt.Chart:
    """One 2-D array with hover values."""
    return heatmap_grid(grid_frame(arr[None], cols=1), cell, scheme, domain, title)


def prob_bars(probs: np.ndarray, pred: int) -> alt.Chart:
    df = pd.DataFrame({"digit": [str(i) for i in range(len(probs))], "probability": probs.astype(float),
                       "predicted": ["yes" if i == pred else "no" for i in range(len(probs))]})
    return (
        alt.Chart(df, height=220)
        .mark_bar()
        .encode(
            x=alt.X("digit:N", sort=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("probability:Q", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("predicted:N", scale=alt.Scale(domain=["yes", "no"], range=["#e4572e", "#8fa9c7"]),
                            legend=None),
            tooltip=["digit", alt.Tooltip("probability:Q", format=".4f")],
        )
    )


def line_chart(df: pd.DataFrame, x: str, y: str, color: str | None = None, title: str = "", height: int = 200):
    enc = {"x": alt.X(f"{x}:Q"), "y": alt.Y(f"{y}:Q", scale=alt.Scale(zero=False)),
           "tooltip": [x, alt.Tooltip(f"{y}:Q", format=".4f")]}
    if color:
        enc["color"] = alt.Color(f"{color}:N")
    return alt.Chart(df, title=title, height=height).mark_line(point=len(df) < 40).encode(**enc)


def png(img: np.ndarray) -> bytes:
    """Encode a uint8 gray or RGB array as PNG bytes (cache these: st.image re-encodes arrays each rerun)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def to_uint8(img: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    lo = float(img.min()) if lo is None else lo
    hi = float(img.max()) if hi is None else hi
    return (np.clip((img - lo) / max(hi - lo, 1e-8), 0, 1) * 255).astype(np.uint8)


def upscale(img: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement so small images stay crisp in the browser."""
    return np.kron(img, np.ones((factor, factor) + (1,) * (img.ndim - 2), dtype=img.dtype))


def diverging_rgb(w: np.ndarray) -> np.ndarray:
    """Weights to RGB: negative blue, zero white, positive red, scaled by the largest magnitude."""
    m = float(np.abs(w).max()) or 1.0
    t = np.clip(w / m, -1, 1)[..., None]  # (..., 1)
    white, red, blue = np.array([1.0, 1.0, 1.0]), np.array([0.8, 0.1, 0.1]), np.array([0.1, 0.25, 0.8])
    rgb = np.where(t >= 0, white + t * (red - white), white - t * (blue - white))
    return (rgb * 255).astype(np.uint8)


def filter_grid(weights: np.ndarray, pad: int = 1) -> np.ndarray:
    """Conv weights (out, in, k, k) -> one RGB image: a row per output channel, a column per input channel."""
    o, i, k, _ = weights.shape
    canvas = np.full((o * (k + pad) - pad, i * (k + pad) - pad, 3), 235, dtype=np.uint8)
    rgb = diverging_rgb(weights)  # (o, i, k, k, 3)
    for a in range(o):
        for b in range(i):
            canvas[a * (k + pad):a * (k + pad) + k, b * (k + pad):b * (k + pad) + k] = rgb[a, b]
    return canvas


def saliency_overlay(gray: np.ndarray, sal: np.ndarray) -> np.ndarray:
    """The input in gray with the saliency in red on top: (28, 28, 3) uint8."""
    g = np.clip(gray, 0, 1)[..., None] * 0.6
    s = (sal / (sal.max() or 1.0))[..., None]
    rgb = g * (1 - s) + s * np.array([1.0, 0.15, 0.1])
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)
