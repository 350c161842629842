"""Altair specs for the transformer page. Every builder returns a Vega-Lite *dict* (see ``spec``) so that
callers can cache it with ``st.cache_data`` and draw it with ``draw``: converting an Altair chart is the
slow part of a rerun, a cached dict costs a few milliseconds."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from ui.charts import with_wrapped_title

MASKED = "−∞ (masked)"


PAD = {"type": "pad", "contains": "content"}  # width/height = the plot area; the page keeps the natural size
FIT_X = {"type": "fit-x", "contains": "padding"}  # stretch to the column width, height = the plot area


def draw(spec: dict, **kw) -> None:
    """Heatmaps keep their natural size (square cells); bar charts stretch across the column."""
    stretch = spec.get("autosize") == FIT_X
    st.vega_lite_chart(with_wrapped_title(spec), width="stretch" if stretch else "content", **kw)


DATA = alt.NamedData(name="table")  # every chart reads one named dataset, attached by spec()


def spec(chart, df: pd.DataFrame, autosize: dict) -> dict:
    """The Vega-Lite dict with ``df`` as its "table" dataset. Altair neither validates nor copies the rows
    (its row-by-row schema check costs ~150 ms for 1,000 cells, and it caps datasets at 5,000 rows);
    Streamlit ships the DataFrame to the browser as Arrow. NaN cells fail Vega's isValid()."""
    return {**chart.to_dict(validate=False), "datasets": {"table": df}, "autosize": autosize}


def labels(tokens) -> list[str]:
    """Unique, ordered axis labels: '0 the', '1 cat', ... (the same word can appear twice)."""
    return [f"{i} {t}" for i, t in enumerate(tokens)]


def cell_size(n: int, total: int = 360, lo: int = 8, hi: int = 34) -> int:
    return int(max(lo, min(hi, total // max(n, 1))))


def matrix(mat: np.ndarray, rows: list[str], cols: list[str], title: str = "", scheme: str = "blues",
           row_title: str = "query", col_title: str = "key", row_sums: bool = False, cell: int | None = None,
           signed: bool = False, fmt: str = ".3f", domain: list | None = None, text_fmt: str = ".2f",
           text_min_cell: int = 24, masked_text: str = "−∞") -> dict:
    """A (R, C) heatmap with labelled axes and hover values; -inf cells are gray and say −∞.
    ``row_sums`` adds a 'Σ' column with each row's sum (the softmax rows: all 1). Cells of at least
    ``text_min_cell`` pixels also print their value."""
    r, c = mat.shape
    rr, cc = np.meshgrid(np.arange(r), np.arange(c), indexing="ij")
    vals = mat.astype(np.float64).ravel()
    masked = np.isneginf(vals)
    df = pd.DataFrame({"row": np.asarray(rows)[rr.ravel()], "col": np.asarray(cols)[cc.ravel()],
                       "value": np.where(masked, np.nan, np.round(vals, 4)),
                       "shown": [(MASKED if masked_text == "−∞" else "—") if m else format(v, fmt)
                                 for v, m in zip(vals, masked)]})
    col_order = list(cols)
    if row_sums:
        sums = np.where(np.isfinite(mat), mat, 0).sum(1)
        df = pd.concat([df, pd.DataFrame({"row": rows, "col": "Σ", "value": np.round(sums, 4),
                                          "shown": [format(s, ".3f") for s in sums]})], ignore_index=True)
        col_order.append("Σ")
    cell = cell or cell_size(max(r, c))
    finite = df["value"].dropna().to_numpy()
    m = float(np.abs(finite).max()) if finite.size else 1.0
    m = m or 1.0
    # Written as a plain Vega-Lite dict: building it through Altair cost ~10 ms per heatmap, which a
    # workshop's 30 participants pay on every new input (the calculator draws a dozen of them).
    if signed:
        scale = {"scheme": "redblue", "domain": [m, -m]}
    elif scheme == "greys" and domain:  # the mask: 0 stays white
        scale = {"domain": list(domain), "range": ["#ffffff", "#444444"]}
    else:
        scale = {"scheme": scheme, **({"domain": list(domain)} if domain else {})}
    # the legend goes under the matrix: on its right it made side-by-side heatmaps spill into the next column
    legend = None if scheme == "greys" else {"title": None, "orient": "bottom", "direction": "horizontal",
                                             "gradientLength": max(60, min(200, cell * len(col_order)))}
    valid, invalid = {"filter": "isValid(datum.value)"}, {"filter": "!isValid(datum.value)"}
    layers = [{"mark": {"type": "rect"}, "transform": [valid],
               "encoding": {"color": {"field": "value", "type": "quantitative", "scale": scale, "legend": legend}}}]
    if masked.any():
        layers.append({"mark": {"type": "rect", "color": "#d0d0d0"}, "transform": [invalid]})
    if cell >= text_min_cell:
        dark = f"abs(datum.value) > {0.6 * m}" if signed else f"datum.value > {0.6 * (domain[1] if domain else m)}"
        layers.append({"mark": {"type": "text", "fontSize": 9 if cell < 30 else 10}, "transform": [valid],
                       "encoding": {"text": {"field": "value", "type": "quantitative", "format": text_fmt},
                                    "color": {"condition": {"test": dark, "value": "white"}, "value": "#333"}}})
        if masked.any() and masked_text:
            layers.append({"mark": {"type": "text", "fontSize": 10, "color": "#555"}, "transform": [invalid],
                           "encoding": {"text": {"value": masked_text}}})
    chart = {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json", "data": {"name": "table"}, "title": title,
        "width": cell * len(col_order), "height": cell * r, "config": {"view": {"strokeWidth": 0}},
        "encoding": {
            "x": {"field": "col", "type": "ordinal", "sort": col_order, "title": col_title,
                  "axis": {"labelAngle": -60, "labelLimit": 80}},
            "y": {"field": "row", "type": "ordinal", "sort": list(rows), "title": row_title, "axis": {"labelLimit": 80}},
            "tooltip": [{"field": "row", "type": "nominal", "title": row_title},
                        {"field": "col", "type": "nominal", "title": col_title},
                        {"field": "shown", "type": "nominal", "title": "value"}]},
        "layer": layers,
    }
    return {**chart, "datasets": {"table": df}, "autosize": PAD}


def grid(w: np.ndarray, row_tokens: list[str], col_tokens: list[str], title: str, row_title: str,
         col_title: str, panel: int = 120, pick: bool = False) -> dict:
    """(L, H, R, C) weights -> one faceted chart: a row per layer, a column per head (BertViz's model view).
    ``pick`` adds a click selection named "pick" over (layer, head)."""
    n_l, n_h, r, c = w.shape
    ll, hh, rr, cc = np.meshgrid(np.arange(n_l), np.arange(n_h), np.arange(r), np.arange(c), indexing="ij")
    df = pd.DataFrame({"layer": ll.ravel() + 1, "head": hh.ravel() + 1, "q": rr.ravel(), "k": cc.ravel(),
                       "query": np.asarray(row_tokens)[rr.ravel()], "key": np.asarray(col_tokens)[cc.ravel()],
                       "weight": np.round(w.ravel().astype(np.float64), 4)})
    base = alt.Chart(DATA).mark_rect().encode(
        x=alt.X("k:O", axis=None), y=alt.Y("q:O", axis=None),
        color=alt.Color("weight:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), legend=None),
        tooltip=["layer:O", "head:O", alt.Tooltip("query:N", title=row_title), alt.Tooltip("key:N", title=col_title),
                 alt.Tooltip("weight:Q", format=".3f")],
    ).properties(width=panel * c / max(r, c), height=panel * r / max(r, c))
    if pick:
        base = base.add_params(alt.selection_point(name="pick", fields=["layer", "head"], on="click"))
    chart = base.facet(
        row=alt.Row("layer:O", header=alt.Header(labelExpr="'layer ' + datum.value", labelAngle=0, title=None)),
        column=alt.Column("head:O", header=alt.Header(labelExpr="'head ' + datum.value", title=None)),
        title=title, spacing=6,
    )
    return spec(chart.configure_view(strokeWidth=1, stroke="#ddd"), df, PAD)


def bars(values: np.ndarray, names: list[str], highlight: int | None, title: str = "", x_title: str = "token",
         y_title: str = "probability", height: int = 200, domain=(0, 1)) -> dict:
    df = pd.DataFrame({"name": names, "value": np.round(values.astype(np.float64), 4),
                       "chosen": ["yes" if i == highlight else "no" for i in range(len(names))]})
    chart = alt.Chart(DATA, title=title, height=height).mark_bar().encode(
        x=alt.X("name:N", sort=list(names), title=x_title, axis=alt.Axis(labelAngle=0 if len(names) < 10 else -45, labelOverlap=False)),
        y=alt.Y("value:Q", title=y_title, scale=alt.Scale(domain=list(domain)) if domain else alt.Undefined),
        color=alt.Color("chosen:N", scale=alt.Scale(domain=["yes", "no"], range=["#e4572e", "#8fa9c7"]), legend=None),
        tooltip=[alt.Tooltip("name:N", title=x_title), alt.Tooltip("value:Q", format=".4f", title=y_title)],
    )
    return spec(chart, df, FIT_X)


def delta_bars(df: pd.DataFrame, title: str) -> dict:
    """Per-position change of the attention output, one bar group per mask."""
    chart = alt.Chart(DATA, title=title, height=200).mark_bar().encode(
        x=alt.X("position:N", sort=list(dict.fromkeys(df["position"])), axis=alt.Axis(labelAngle=-60)),
        xOffset="mask:N",
        y=alt.Y("max |Δ output|:Q"),
        color=alt.Color("mask:N", scale=alt.Scale(domain=["causal", "no mask"], range=["#2a9d8f", "#e4572e"])),
        tooltip=["position:N", "mask:N", alt.Tooltip("max |Δ output|:Q", format=".3g")],
    )
    return spec(chart, df, FIT_X)
