"""Vega-Lite specs for the encoder-decoder page (hand-written and cached, drawn with ``charts.show``)."""
from __future__ import annotations

import functools
import json

import numpy as np
import pandas as pd

from ui.charts import VL


@functools.lru_cache(maxsize=256)
def _grid_spec(title: str, x_title: str, y_title: str, width: int, height: int, scheme: str,
               domain: tuple | None, rows: tuple, cols: tuple | None) -> dict:
    scale = {"scheme": scheme, **({"domain": list(domain)} if domain else {})}
    if scheme == "redblue":
        scale["reverse"] = True
    x_axis = ({"labelAngle": 0, "labelExpr": f"{json.dumps(list(cols))}[datum.value]", "labelOverlap": "parity"}
              if cols else {"labels": False, "ticks": False})
    return {
        "title": title, "width": width, "height": height, "mark": {"type": "rect"},
        "encoding": {
            "x": {"field": "x", "type": "ordinal", "title": x_title, "axis": x_axis},
            "y": {"field": "y", "type": "ordinal", "title": y_title,
                  "axis": {"labelExpr": f"{json.dumps(list(rows))}[datum.value]"}},
            "color": {"field": "value", "type": "quantitative", "scale": scale,  # under a flat chart
                      "legend": {"orient": "right", "gradientLength": 100} if height >= 100 else
                      {"orient": "bottom", "direction": "horizontal", "gradientLength": 120, "title": None}},
            "tooltip": [{"field": "row", "type": "nominal", "title": y_title or "row"},
                        {"field": "col", "type": "nominal", "title": x_title or "column"},
                        {"field": "value", "type": "quantitative", "format": ".3f"}],
        },
        "config": {"view": {"strokeWidth": 0}},
        # drawn at the container's width (charts.show(..., width="stretch")): axes and legend fit inside it,
        # the cells share what is left; the height (cells) is kept. "width" only stands in until then.
        "autosize": {"type": "fit-x", "contains": "padding"},
    }


def grid_vl(values: np.ndarray, rows: list[str], cols: list[str], title: str = "", x_title: str = "",
            y_title: str = "", cell: int = 18, scheme: str = "redblue", domain=(-1, 1)) -> VL:
    """A labelled heatmap: values (R, C), one label per row and per column (NaN cells stay empty).

    Positions are integers (labels are drawn by the axes and shown in the tooltip); x labels that would
    overlap are thinned out. Draw it with ``charts.show(chart, width="stretch")``: the chart takes the
    width of its column, never more (a fixed width spilled over the next column on long inputs).
    """
    r, c = values.shape
    yy, xx = np.indices((r, c))
    df = pd.DataFrame({"y": yy.ravel().astype(np.int16), "x": xx.ravel().astype(np.int16),
                       "row": np.asarray(rows)[yy.ravel()], "col": np.asarray(cols)[xx.ravel()],
                       "value": np.round(values.ravel(), 3).astype(np.float32)})
    width = max(60, min(int(c * cell), 720))
    return VL(df, _grid_spec(title, x_title, y_title, width, int(r * max(14, min(cell, 22))), scheme,
                             tuple(domain) if domain else None, tuple(rows),
                             tuple(cols)))


_TOPK_SPEC = {
    "height": 150, "mark": {"type": "bar"},
    "encoding": {
        "y": {"field": "token", "type": "nominal", "sort": None, "title": None},
        "x": {"field": "probability", "type": "quantitative", "scale": {"domain": [0, 1]}},
        "color": {"field": "chosen", "type": "nominal", "legend": None,
                  "scale": {"domain": ["yes", "no"], "range": ["#e4572e", "#8fa9c7"]}},
        "tooltip": [{"field": "token", "type": "nominal"},
                    {"field": "probability", "type": "quantitative", "format": ".4f"}],
    },
}


def topk_vl(probs: np.ndarray, itos: tuple, chosen: int, k: int = 5) -> VL:
    top = np.argsort(-probs)[:k]
    df = pd.DataFrame({"token": [itos[i] for i in top], "probability": probs[top].astype(float),
                       "chosen": ["yes" if i == chosen else "no" for i in top]})
    return VL(df, _TOPK_SPEC)


_LENGTH_LEGEND = {"orient": "bottom", "title": None, "labelLimit": 400, "direction": "vertical"}  # fits a phone
_LENGTH_SPEC = {
    "height": 280, "mark": {"type": "line", "point": True},
    "encoding": {
        "x": {"field": "input length", "type": "quantitative", "scale": {"zero": False},
              "axis": {"format": "d", "tickMinStep": 1}},
        "y": {"field": "exact match", "type": "quantitative", "scale": {"domain": [0, 1]}, "axis": {"format": "%"}},
        # one legend for both channels (different legend settings per channel conflict in Vega-Lite)
        "color": {"field": "model", "type": "nominal", "legend": _LENGTH_LEGEND},
        "strokeDash": {"field": "model", "type": "nominal", "legend": _LENGTH_LEGEND},
        "tooltip": [{"field": "model", "type": "nominal"}, {"field": "input length", "type": "quantitative"},
                    {"field": "exact match", "type": "quantitative", "format": ".1%"}],
    },
}


def length_vl(df: pd.DataFrame) -> VL:
    """Exact match against input length, one line per model (columns: model, input length, exact match)."""
    return VL(df, _LENGTH_SPEC)


_LATENT_SPEC = {
    "height": 380,
    "layer": [
        {"mark": {"type": "circle", "size": 14, "opacity": 0.6},
         "transform": [{"filter": "datum.kind == 'test'"}],
         "encoding": {
             "x": {"field": "z1", "type": "quantitative", "scale": {"zero": False}},
             "y": {"field": "z2", "type": "quantitative", "scale": {"zero": False}},
             "color": {"field": "digit", "type": "nominal", "scale": {"scheme": "category10"}},
             "tooltip": [{"field": "digit", "type": "nominal"}, {"field": "z1", "type": "quantitative", "format": ".2f"},
                         {"field": "z2", "type": "quantitative", "format": ".2f"}]}},
        {"mark": {"type": "point", "shape": "diamond", "size": 260, "filled": True, "color": "black",
                  "stroke": "white", "strokeWidth": 2},
         "transform": [{"filter": "datum.kind != 'test'"}],
         "encoding": {
             "x": {"field": "z1", "type": "quantitative"}, "y": {"field": "z2", "type": "quantitative"},
             "tooltip": [{"field": "kind", "type": "nominal"}, {"field": "z1", "type": "quantitative", "format": ".2f"},
                         {"field": "z2", "type": "quantitative", "format": ".2f"}]}},
    ],
}


def latent_vl(z: np.ndarray, labels: np.ndarray, mine: np.ndarray | None, mine_label: str = "your digit") -> VL:
    """Test digits' 2-D codes coloured by class; ``mine`` (2,) drawn as a black diamond."""
    df = pd.DataFrame({"z1": z[:, 0].astype(float), "z2": z[:, 1].astype(float),
                       "digit": labels.astype(str), "kind": "test"})
    if mine is not None:
        df = pd.concat([df, pd.DataFrame({"z1": [float(mine[0])], "z2": [float(mine[1])], "digit": ["?"],
                                          "kind": [mine_label]})], ignore_index=True)
    return VL(df, _LATENT_SPEC)
