"""Hand-written Vega-Lite charts for the GAN page (cheap on every rerun, see ui.charts.VL)."""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from dl_core import gan2d
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
        layers.append({"transform": _only("arrow"), "mark": {"type": "rule", "color": "#222", "strokeWidth": 1.2,
                                                             "clip": True},
                       "encoding": {**pos, "x2": {"field": "x2"}, "y2": {"field": "y2"}}})
    return {"width": size, "height": size, "layer": layers, "config": {"view": {"strokeWidth": 0}},
            "resolve": {"scale": {"color": "independent"}}}


def plane(v: gan2d.View, arrows: bool = True, grid: bool = True, size: int = 440, lim: float = gan2d.LIM) -> VL:
    """D's heatmap, G's manifold, real and fake points and G's gradient arrows: one dataset, five layers."""
    n = v.d_grid.shape[0]
    edges = np.linspace(-lim, lim, n + 1)
    yy, xx = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    parts = [pd.DataFrame({"layer": "D", "x": edges[xx.ravel()], "x2": edges[xx.ravel() + 1],
                           "y": edges[yy.ravel()], "y2": edges[yy.ravel() + 1],
                           "value": np.round(v.d_grid.numpy().ravel(), 3)})]
    if grid:
        m = v.manifold.numpy()  # (r, c, 2)
        rows = [(f"r{i}", j, *m[i, j]) for i in range(m.shape[0]) for j in range(m.shape[1])]
        if m.shape[0] > 1:
            rows += [(f"c{j}", i, *m[i, j]) for j in range(m.shape[1]) for i in range(m.shape[0])]
        parts.append(pd.DataFrame(rows, columns=["line", "order", "x", "y"]).assign(layer="M"))
    parts += [pd.DataFrame({"layer": "real", "x": v.real[:, 0].numpy(), "y": v.real[:, 1].numpy()}),
              pd.DataFrame({"layer": "fake", "x": v.fake[:, 0].numpy(), "y": v.fake[:, 1].numpy()})]
    if arrows:
        g = v.arrow_grad.numpy()
        scale = 0.25 / max(float(np.linalg.norm(g, axis=1).max()), 1e-8)  # the longest arrow: 0.25 units
        a = v.arrow_from.numpy()
        parts.append(pd.DataFrame({"layer": "arrow", "x": a[:, 0], "y": a[:, 1],
                                   "x2": a[:, 0] + scale * g[:, 0], "y2": a[:, 1] + scale * g[:, 1]}))
    df = pd.concat(parts, ignore_index=True)
    for c in ("x", "y", "x2", "y2"):
        df[c] = df[c].astype(np.float32).round(3)
    return VL(df, _plane_spec(size, lim, arrows, grid))


@functools.lru_cache(maxsize=32)
def _series_spec(title: str, height: int, y_title: str, domain: tuple | None, colors: tuple) -> dict:
    y = {"field": "value", "type": "quantitative", "title": y_title, "scale": {"zero": False}}
    if domain:
        y["scale"] = {"domain": list(domain)}
    return {
        "title": title, "height": height, "mark": {"type": "line", "strokeWidth": 1.5},
        "encoding": {
            "x": {"field": "step", "type": "quantitative"}, "y": y,
            "color": {"field": "series", "type": "nominal", "title": None,
                      "scale": {"range": list(colors)}, "legend": {"orient": "bottom"}},
            "tooltip": [{"field": "series", "type": "nominal"}, {"field": "step", "type": "quantitative"},
                        {"field": "value", "type": "quantitative", "format": ".4f"}],
        },
    }


def series(steps, columns: dict, title: str = "", height: int = 170, y_title: str = "", domain=None,
           colors=(FAKE, REAL, "#e67e22"), max_points: int = 300) -> VL:
    """Several lines over steps, thinned to at most ``max_points`` points each."""
    steps = np.asarray(steps)
    keep = np.unique(np.linspace(0, len(steps) - 1, min(len(steps), max_points)).astype(int)) if len(steps) else []
    df = pd.DataFrame({"step": np.repeat(steps[keep], len(columns)) if len(steps) else [],
                       "series": np.tile(list(columns), len(keep)),
                       "value": np.column_stack([np.asarray(v, dtype=np.float32)[keep] for v in columns.values()]).ravel()
                       if len(steps) else []})
    return VL(df, _series_spec(title, height, y_title, tuple(domain) if domain else None, tuple(colors)))


def class_hist(hist, title: str = "Judged as digit", height: int = 150) -> VL:
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
