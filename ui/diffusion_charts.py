"""Diffusion page charts and images: hand-written Vega-Lite specs (cached) and PNG/GIF helpers."""
from __future__ import annotations

import functools
import io

import numpy as np
import pandas as pd
from PIL import Image

from dl_core.jobs import tile  # noqa: F401  (one tiling, shared with the sampling worker: dc.tile)

from ui.charts import VL, png, upscale


@functools.lru_cache(maxsize=32)
def _schedule_spec(y: str, title: str, log: bool, rule_t: int) -> dict:
    scale = {"type": "log"} if log else {"zero": True}
    return {
        # Streamlit's theme fits title, axes and legend INSIDE the height: leave the plot room
        "title": title, "height": 260,
        "layer": [
            {"mark": {"type": "line"},
             "encoding": {"x": {"field": "t", "type": "quantitative", "scale": {"domain": [0, 1000], "nice": False}},
                          "y": {"field": y, "type": "quantitative", "scale": scale},
                          "color": {"field": "schedule", "type": "nominal",
                                    "scale": {"domain": ["linear", "cosine"], "range": ["#e4572e", "#2e86ab"]},
                                    "legend": {"orient": "bottom", "title": None}},
                          "tooltip": [{"field": "schedule", "type": "nominal"}, {"field": "t", "type": "quantitative"},
                                      {"field": y, "type": "quantitative", "format": ".5f"}]}},
            {"data": {"values": [{"t": rule_t}]},  # one rule (a datum encoding would draw one per row)
             "mark": {"type": "rule", "color": "#444", "strokeDash": [4, 3]},
             "encoding": {"x": {"field": "t", "type": "quantitative"}}},
        ],
    }


def schedule_vl(df: pd.DataFrame, y: str, title: str, t: int, log: bool = False) -> VL:
    """One quantity (beta, alpha_bar or snr) against t for both schedules, a rule at the chosen t."""
    return VL(df, _schedule_spec(y, title, log, int(t)))


@functools.lru_cache(maxsize=8)
def _bars_spec(x: str, y: str, color: str, title: str) -> dict:
    return {
        "title": title, "height": 160, "mark": {"type": "bar"},
        "encoding": {"x": {"field": x, "type": "nominal", "axis": {"labelAngle": 0}},
                     "y": {"field": y, "type": "quantitative"},
                     "color": {"field": color, "type": "nominal", "legend": None},
                     "tooltip": [{"field": x, "type": "nominal"}, {"field": y, "type": "quantitative", "format": ".3f"}]},
    }


def bars_vl(df: pd.DataFrame, x: str, y: str, title: str = "") -> VL:
    return VL(df, _bars_spec(x, y, x, title))


def to_png_gray(img01: np.ndarray, factor: int = 4) -> bytes:
    """[0, 1] float -> PNG bytes, nearest-neighbour upscaled."""
    return png(upscale((np.clip(img01, 0, 1) * 255).astype(np.uint8), factor))


def signed_to_unit(x: np.ndarray) -> np.ndarray:
    """Model space [-1, 1] (or noise) -> [0, 1] for display."""
    return np.clip((x + 1) / 2, 0, 1)


def noise_to_unit(e: np.ndarray) -> np.ndarray:
    """Noise ~ N(0, 1) -> [0, 1], +-3 sigma mapped to the ends."""
    return np.clip(e / 6 + 0.5, 0, 1)


def gif(frames: list[np.ndarray], ms: int = 80, factor: int = 3) -> bytes:
    """uint8 gray frames -> an animated GIF (Pillow), the last frame held longer."""
    pics = [Image.fromarray(upscale(f, factor)) for f in frames]
    buf = io.BytesIO()
    durations = [ms] * (len(pics) - 1) + [1200]
    pics[0].save(buf, format="GIF", save_all=True, append_images=pics[1:], duration=durations, loop=0)
    return buf.getvalue()
