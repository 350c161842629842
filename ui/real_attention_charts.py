"""Charts of the real-model page, all drawn locally (Vega-Lite dicts and PNG tiles; no CDN, no BertViz):
the head view (lines from each token to the tokens it attends to, one colour per head), the model view
(layers x heads thumbnails, click one to enlarge) and the next-token bars."""
from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
from PIL import Image

from ui.transformer_charts import FIT_X, PAD

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
HEAD_EVENTS = "pointerover[event.item && event.item.datum && event.item.datum.head]"  # lines only, not tokens
HEAD_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22", "#17becf", "#393b79", "#ad494a"]


def head_view(w: np.ndarray, tokens: list[str], heads: list[int], min_weight: float = 0.02) -> dict:
    """w (H, T, T) of one layer -> BertViz-like head view. Left column: the query tokens; right column: the
    keys. A line per (head, query, key) with weight >= ``min_weight``, opacity = weight. Hover a head in the
    legend to isolate it, hover a token on the left to isolate its lines."""
    t = len(tokens)
    h_idx, q_idx, k_idx = np.nonzero(w[heads] >= min_weight)  # at most H*T*T lines, usually far fewer
    head_no = np.asarray(heads)[h_idx] + 1
    lines = pd.DataFrame({"head": [f"head {h}" for h in head_no], "query": q_idx, "key": k_idx,
                          "x": 0.0, "x2": 1.0, "qt": np.asarray(tokens, dtype=object)[q_idx],
                          "kt": np.asarray(tokens, dtype=object)[k_idx],
                          "weight": np.round(w[heads][h_idx, q_idx, k_idx].astype(np.float64), 3)})
    toks = pd.DataFrame({"query": np.arange(t), "token": tokens})
    row = 16
    y = {"type": "quantitative", "scale": {"domain": [-0.5, t - 0.5], "reverse": True}, "axis": None}
    x = {"type": "quantitative", "scale": {"domain": [0, 1]}, "axis": None}
    domain = [f"head {h + 1}" for h in heads]
    color = {"field": "head", "type": "nominal", "scale": {"domain": domain,
             "range": [HEAD_COLORS[h % len(HEAD_COLORS)] for h in heads]},
             "legend": {"title": "hover a head", "orient": "top", "direction": "horizontal",
                        "columns": 9, "labelExpr": "replace(datum.label, 'head ', '')",
                        "symbolType": "stroke", "symbolStrokeWidth": 4, "symbolOpacity": 1}}
    both = {"and": [{"param": "hd", "empty": True}, {"param": "tok", "empty": True}]}
    return {
        "$schema": SCHEMA, "width": 300, "height": row * t, "autosize": PAD,
        "config": {"view": {"strokeWidth": 0}},
        "datasets": {"lines": lines, "toks": toks},
        "layer": [
            {"data": {"name": "lines"}, "mark": {"type": "rule", "strokeWidth": 2},
             "params": [{"name": "hd", "select": {"type": "point", "fields": ["head"], "clear": "dblclick",
                                                  "on": HEAD_EVENTS}, "bind": {"legend": "pointerover"}}],
             "encoding": {"x": {"field": "x", **x}, "x2": {"field": "x2"}, "y": {"field": "query", **y},
                          "y2": {"field": "key"}, "color": color,
                          "opacity": {"condition": {"test": both, "field": "weight", "type": "quantitative",
                                                    "scale": {"domain": [0, 1], "range": [0.05, 1]},
                                                    "legend": None}, "value": 0.0},
                          "tooltip": [{"field": "head"}, {"field": "qt", "title": "query"},
                                      {"field": "kt", "title": "key"}, {"field": "weight", "format": ".3f"}]}},
            {"data": {"name": "toks"}, "mark": {"type": "text", "align": "right", "dx": -6, "fontSize": 12},
             "params": [{"name": "tok", "select": {"type": "point", "fields": ["query"], "on": "pointerover",
                                                   "clear": "pointerout"}}],
             "encoding": {"x": {"datum": 0, **x}, "y": {"field": "query", **y}, "text": {"field": "token"},
                          "color": {"condition": {"param": "tok", "empty": False, "value": "#e4572e"},
                                    "value": "#222"}}},
            {"data": {"name": "toks"}, "mark": {"type": "text", "align": "left", "dx": 6, "fontSize": 12},
             "encoding": {"x": {"datum": 1, **x}, "y": {"field": "query", **y}, "text": {"field": "token"}}},
        ],
    }


def _png(mat: np.ndarray, rgb: tuple[int, int, int], px: int) -> str:
    """A (T, T) weight matrix -> a data-URL PNG tile of ``px`` pixels, white (0) to ``rgb`` (1)."""
    m = np.clip(np.sqrt(mat), 0, 1)[..., None]  # sqrt: small weights stay visible
    img = (255 - m * (255 - np.asarray(rgb))).astype(np.uint8)  # (T, T, 3)
    im = Image.fromarray(img).resize((px, px), Image.NEAREST)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=False, compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def model_view(w: np.ndarray, tile: int = 32) -> dict:
    """w (L, H, T, T) -> a layers x heads grid of PNG thumbnails, one Vega-Lite image mark each; a click
    selects (layer, head) as the selection "pick"."""
    n_l, n_h = w.shape[:2]
    rows = [{"layer": layer + 1, "head": h + 1, "url": _png(w[layer, h], (31, 90, 166), tile)}
            for layer in range(n_l) for h in range(n_h)]
    cell = tile + 6
    return {
        "$schema": SCHEMA, "width": cell * n_h, "height": cell * n_l, "autosize": PAD,
        "datasets": {"tiles": rows}, "data": {"name": "tiles"}, "config": {"view": {"strokeWidth": 0}},
        "encoding": {"x": {"field": "head", "type": "ordinal", "axis": {"orient": "top", "labelAngle": 0}},
                     "y": {"field": "layer", "type": "ordinal"},
                     "tooltip": [{"field": "layer"}, {"field": "head"}]},
        "layer": [{"mark": {"type": "rect", "fill": "white", "stroke": "#e4572e", "cursor": "pointer"},
                   "params": [{"name": "pick",
                               "select": {"type": "point", "fields": ["layer", "head"], "on": "click"}}],
                   "encoding": {"strokeWidth": {"condition": {"param": "pick", "empty": False, "value": 3},
                                                "value": 0}}},
                  {"mark": {"type": "image", "width": tile, "height": tile, "cursor": "pointer", "align": "center",
                            "baseline": "middle"}, "encoding": {"url": {"field": "url"}}}],
    }


def prob_bars(tokens: list[str], probs: list[float], raw: list[float], title: str) -> dict:
    """The top-k candidates: sampling probability (after temperature/top-k/top-p) beside the raw one."""
    k = len(tokens)
    names = [f"{i + 1}. {t!r}" for i, t in enumerate(tokens)]
    df = pd.DataFrame({"token": names * 2, "p": np.round(np.r_[probs, raw], 4),
                       "which": ["sampling"] * k + ["model (T = 1)"] * k})
    return {
        "$schema": SCHEMA, "title": title, "height": 24 * k, "autosize": FIT_X, "width": "container",
        "datasets": {"table": df}, "data": {"name": "table"},
        "mark": {"type": "bar"},
        "encoding": {"y": {"field": "token", "type": "nominal", "sort": names, "title": None},
                     "yOffset": {"field": "which"},
                     "x": {"field": "p", "type": "quantitative", "title": "probability", "scale": {"domain": [0, 1]}},
                     "color": {"field": "which", "type": "nominal", "title": None,
                               "scale": {"domain": ["sampling", "model (T = 1)"], "range": ["#e4572e", "#8fa9c7"]},
                               "legend": {"orient": "bottom"}},
                     "tooltip": [{"field": "token"}, {"field": "which"}, {"field": "p", "format": ".4f"}]},
    }
