"""Hand-written Vega-Lite charts for the GAN page (cheap on every rerun, see ui.charts.VL)."""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from dl_core import gan2d, gan2d_view
from ui.charts import VL

REAL, FAKE = "#1b9e4b", "#8e44ad"  # GAN Lab's colours: green real, purple fake


def _only(layer: str) -> list:
    return [{"filter": {"field": "layer", "equal": layer}}]


@functools.lru_cache(maxsize=8)
def _plane_spec(size: int, lim: float, arrows: bool, grid: bool) -> dict:
    xs = {"type": "quantitative", "scale": {"domain": [-lim, lim], "nice": False}, "title": None}
    pos = {"x": {"field": "x", **xs}, "y": {"field": "y", **xs}}
    layers = [
        {"transform": _only("D"), "mark": {"type": "rect", "opacity": 0.85},
         "encoding": {**pos, "x2": {"field": "x2"}, "y2": {"field": "y2"},
                      "color": {"field": "value", "type": "quantitative", "title": "D(x)",
                                "scale": {"domain": [0, 1], "range": [FAKE, "#f7f7f7", REAL]},
                                "legend": {"orient": "right", "gradientLength": 160}},
                      "tooltip": [{"field": "value", "type": "quantitative", "format": ".3f", "title": "D(x)"}]}},
    ]
    if grid:
        layers.append({"transform": _only("M"), "mark": {"type": "line", "strokeWidth": 0.8, "opacity": 0.55,
                                                         "color": "#444", "clip": True},
                       "encoding": {**pos, "detail": {"field": "line", "type": "nominal"},
                                    "order": {"field": "order", "type": "quantitative"}}})
    for layer, colour in (("real", REAL), ("fake", FAKE)):
        layers.append({"transform": _only(layer), "mark": {"type": "circle", "size": 14, "opacity": 0.85,
                                                           "color": colour, "clip": True},
                       "encoding": {**pos, "tooltip": [{"field": "layer", "type": "nominal", "title": "point"},
                                                       {"field": "x", "format": ".2f"}, {"field": "y", "format": ".2f"}]}})
    if arrows:
        layers.append({"transform": _only("arrow"), "mark": {"type": "rule", "color": "#333", "strokeWidth": 1, "opacity": 0.6,
                                                             "clip": True},
                       "encoding": {**pos, "x2": {"field": "x2"}, "y2": {"field": "y2"}}})
    return {"width": size, "height": size, "layer": layers, "config": {"view": {"strokeWidth": 0}},
            "resolve": {"scale": {"color": "independent"}}}


def plane(v: gan2d_view.View, arrows: bool = True, grid: bool = True, size: int = 470, lim: float = gan2d.LIM) -> VL:
    """D's heatmap, G's manifold, real and fake points and G's gradient arrows: one dataset, five layers."""
    cols = {k: [] for k in ("layer", "x", "y", "x2", "y2", "value", "line", "order")}

    def add(layer, x, y, x2=None, y2=None, value=None, line=None, order=None):
        n = len(x)
        nan = np.full(n, np.nan, dtype=np.float32)
        for k, val in (("layer", np.full(n, layer)), ("x", x), ("y", y), ("x2", nan if x2 is None else x2),
                       ("y2", nan if y2 is None else y2), ("value", nan if value is None else value),
                       ("line", np.full(n, "") if line is None else line), ("order", nan if order is None else order)):
            cols[k].append(val)

    n = v.d_grid.shape[0]
    edges = np.linspace(-lim, lim, n + 1, dtype=np.float32)
    yy, xx = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    add("D", edges[xx.ravel()], edges[yy.ravel()], edges[xx.ravel() + 1], edges[yy.ravel() + 1],
        value=v.d_grid.numpy().ravel())
    if grid:
        m = v.manifold.numpy()  # (r, c, 2): rows of the noise grid, then its columns (for 2-D noise)
        r, c = m.shape[:2]
        add("M", m[..., 0].ravel(), m[..., 1].ravel(), line=np.repeat([f"r{i}" for i in range(r)], c),
            order=np.tile(np.arange(c), r))
        if r > 1:
            t = m.transpose(1, 0, 2)  # (c, r, 2)
            add("M", t[..., 0].ravel(), t[..., 1].ravel(), line=np.repeat([f"c{j}" for j in range(c)], r),
                order=np.tile(np.arange(r), c))
    add("real", v.real[:, 0].numpy(), v.real[:, 1].numpy())
    add("fake", v.fake[:, 0].numpy(), v.fake[:, 1].numpy())
    if arrows:
        g = v.arrow_grad.numpy()
        scale = 0.2 / max(float(np.linalg.norm(g, axis=1).max()), 1e-8)  # the longest arrow: 0.2 units
        a = v.arrow_from.numpy()
        add("arrow", a[:, 0], a[:, 1], a[:, 0] + scale * g[:, 0], a[:, 1] + scale * g[:, 1])
    df = pd.DataFrame({k: np.concatenate(val) for k, val in cols.items()})
    for k in ("x", "y", "x2", "y2", "value"):
        df[k] = df[k].astype(np.float32).round(3)
    return VL(df, _plane_spec(size, lim, arrows, grid))


@functools.lru_cache(maxsize=32)
def _series_spec(title: str, height: int, y_title: str, domain: tuple | None, colors: tuple, log: bool) -> dict:
    y = {"field": "value", "type": "quantitative", "title": y_title, "scale": {"zero": False}}
    if domain:
        y["scale"] = {"domain": list(domain)}
    if log:
        y["scale"] = {"type": "log"}
    return {
        "title": title, "height": height, "mark": {"type": "line", "strokeWidth": 1.5},
        "encoding": {
            "x": {"field": "step", "type": "quantitative"}, "y": y,
            "color": {"field": "series", "type": "nominal", "title": None,
                      "scale": {"range": list(colors)}, "legend": {"orient": "right"}},
            "tooltip": [{"field": "series", "type": "nominal"}, {"field": "step", "type": "quantitative"},
                        {"field": "value", "type": "quantitative", "format": ".4f"}],
        },
    }


def series(steps, columns: dict, title: str = "", height: int = 230, y_title: str = "", domain=None,
           colors=(FAKE, REAL, "#e67e22"), max_points: int = 300, log: bool = False) -> VL:
    """Several lines over steps, thinned to at most ``max_points`` points each."""
    steps = np.asarray(steps)
    keep = np.unique(np.linspace(0, len(steps) - 1, min(len(steps), max_points)).astype(int)) if len(steps) else []
    df = pd.DataFrame({"step": np.repeat(steps[keep], len(columns)) if len(steps) else [],
                       "series": np.tile(list(columns), len(keep)),
                       "value": np.column_stack([np.asarray(v, dtype=np.float32)[keep] for v in columns.values()]).ravel()
                       if len(steps) else []})
    return VL(df, _series_spec(title, height, y_title, tuple(domain) if domain else None, tuple(colors), log))


def class_hist(hist, title: str = "Judged as digit", height: int = 250) -> VL:
    """Streamlit's theme fits title and axes inside ``height``; at 210 the plot got so flat that the y-axis
    title outgrew it and pushed the chart title out of the picture."""
    df = pd.DataFrame({"digit": [str(i) for i in range(10)], "share": np.round(np.asarray(hist, float), 4)})
    spec = {"title": title, "height": height,
            "layer": [{"mark": {"type": "bar", "color": "#4c78a8"},
                       "encoding": {"x": {"field": "digit", "type": "ordinal", "axis": {"labelAngle": 0}},
                                    "y": {"field": "share", "type": "quantitative", "axis": {"format": "%"},
                                          "title": "share of samples"},
                                    "tooltip": [{"field": "digit", "type": "ordinal"},
                                                {"field": "share", "type": "quantitative", "format": ".1%"}]}},
                      {"mark": {"type": "rule", "color": "#c0392b", "strokeDash": [4, 3]},
                       "encoding": {"y": {"datum": 0.05}}}]}
    return VL(df, spec)
