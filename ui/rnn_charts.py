"""Altair charts of the RNN page: time x unit heatmaps, one unit across time, predictions, gradients.

The helpers draw directly (``st.vega_lite_chart``) so that the compiled spec can be cached."""
from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd
import pyarrow as pa
import streamlit as st

# What each field is and how to colour it: (title, colour scheme, fixed domain or None = symmetric)
FIELDS = {
    "i": ("input gate i (how much to write)", "viridis", [0, 1]),
    "f": ("forget gate f (how much to keep)", "viridis", [0, 1]),
    "g": ("candidate g (what to write)", "redblue", [-1, 1]),
    "o": ("output gate o (how much to show)", "viridis", [0, 1]),
    "c": ("cell state c (the memory)", "redblue", None),
    "h": ("hidden state h (the output)", "redblue", [-1, 1]),
    "r": ("reset gate r", "viridis", [0, 1]),
    "z": ("update gate z (1 keeps the old h)", "viridis", [0, 1]),
    "n": ("candidate n", "redblue", [-1, 1]),
}


def shown(ch: str) -> str:
    return "␣" if ch == " " else ch


def step_keys(labels: list[str]) -> list[str]:
    """One unique, time-sortable key per step: "007(" is step 7 reading "(" (the axis shows only "(")."""
    return [f"{t:03d}{lab}" for t, lab in enumerate(labels)]


def every(labels: list[str]) -> int:
    """Label every k-th step when the labels would not fit (about 40 characters per half-width axis)."""
    return max(1, len(labels) * max(len(lab) for lab in labels) // 40)


def time_axis(every: int, title: str = "input") -> alt.Axis:
    """The input symbols along the time axis (every k-th one when there are many)."""
    expr = "slice(datum.value, 3)"
    if every > 1:
        expr = f"toNumber(slice(datum.value, 0, 3)) % {every} == 0 ? {expr} : ''"
    return alt.Axis(title=title, labelExpr=expr, labelAngle=0, labelFontSize=11, labelOverlap=False,
                    ticks=False, domain=False)


def _dictionary(values: list[str], repeat: int = 1, tile: int = 1) -> pa.DictionaryArray:
    """values, each repeated ``repeat`` times, the whole tiled ``tile`` times, dictionary-encoded."""
    cats = list(dict.fromkeys(values))
    index = {v: k for k, v in enumerate(cats)}
    codes = np.tile(np.repeat(np.array([index[v] for v in values], dtype=np.int16), repeat), tile)
    return pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(cats, type=pa.string()))


def heatmap_frame(values: np.ndarray, labels: list[str]) -> pa.Table:
    """(T, H) -> one row per (step, unit). An Arrow table, built directly: Streamlit sends it as is
    (a pandas frame would be converted with a fresh thread pool on every rerun)."""
    t, h = values.shape
    return pa.table({"key": _dictionary(step_keys(labels), h), "symbol": _dictionary(labels, h),
                     "t": np.repeat(np.arange(1, t + 1, dtype=np.int16), h),
                     "unit": np.tile(np.arange(h, dtype=np.int16), t),
                     "value": np.round(values.ravel(), 3).astype(np.float32)})


def series_frame(series: dict[str, np.ndarray], labels: list[str]) -> pa.Table:
    """Several per-step series in long form: key, symbol, t, series, value."""
    n, k = len(labels), len(series)
    return pa.table({"key": _dictionary(step_keys(labels), tile=k), "symbol": _dictionary(labels, tile=k),
                     "t": np.tile(np.arange(1, n + 1, dtype=np.int16), k), "series": _dictionary(list(series), n),
                     "value": np.concatenate([np.asarray(v, dtype=np.float64) for v in series.values()])})


# Charts are written in Altair without data; the compiled Vega-Lite spec is cached per shape (Altair's
# schema validation costs tens of ms per chart) and the data frame is passed to st.vega_lite_chart.
def _without_data(spec: dict) -> dict:
    """Drop Altair's placeholder dataset so the frame given to st.vega_lite_chart is the chart's data."""
    spec.pop("data", None)
    for layer in spec.get("layer", []):
        if layer.get("data") == {"name": "empty"}:
            del layer["data"]
    spec.get("datasets", {}).pop("empty", None)
    return spec


UNIT_FILTER = "datum.unit == -1"  # the framed unit is filled in after the cache (one spec serves every unit)


@st.cache_data(max_entries=512, show_spinner=False)
def _heatmap_spec(label_every: int, field: str, rows: int, domain: tuple, framed: bool) -> dict:
    title, scheme, _ = FIELDS[field]
    base = alt.Chart(title=title).mark_rect().encode(
        x=alt.X("key:O", axis=time_axis(label_every)),
        y=alt.Y("unit:O", axis=alt.Axis(title="unit", labelFontSize=9, values=list(range(0, rows, 4)))),
        color=alt.Color("value:Q", scale=alt.Scale(scheme=scheme, domain=list(domain), clamp=True,
                                                   reverse=scheme == "redblue"),  # red positive, blue negative
                        legend=alt.Legend(orient="right", gradientLength=100, title=field)),
        tooltip=[alt.Tooltip("t:O", title="step"), alt.Tooltip("symbol:N"), alt.Tooltip("unit:O"),
                 alt.Tooltip("value:Q", format=".3f")],
    ).properties(height=110 + 7 * rows)  # Streamlit counts title and axes in the height
    if not framed:
        return _without_data(base.to_dict())
    frame = alt.Chart().transform_filter(UNIT_FILTER).transform_aggregate(
        n="count()", groupby=["unit"]).mark_rect(fill=None, stroke="black", strokeWidth=2).encode(y="unit:O")
    return _without_data(alt.layer(base, frame).to_dict())


def time_heatmap(values: np.ndarray, labels: list[str], field: str, unit: int | None = None) -> None:
    """Time runs left to right, one row per unit; hover for the exact value. ``unit`` gets a frame."""
    domain = FIELDS[field][2]
    if domain is None:  # the cell state is unbounded: saturate the colours at the 95th percentile of |c|
        m = math.ceil(float(np.percentile(np.abs(values), 95)) * 2) / 2 or 1.0  # steps of 0.5: few specs
        domain = [-m, m]
    spec = _heatmap_spec(every(labels), field, values.shape[1], tuple(domain), unit is not None)
    if unit is not None:  # st.cache_data hands out a fresh copy: set the frame's unit in it
        for layer in spec.get("layer", []):
            for step in layer.get("transform", []):
                if step.get("filter") == UNIT_FILTER:
                    step["filter"] = f"datum.unit == {int(unit)}"
    st.vega_lite_chart(heatmap_frame(values, labels), spec, width="stretch")


@st.cache_data(max_entries=256, show_spinner=False)
def _lines_spec(names: tuple, label_every: int, points: bool, title: str, height: int) -> dict:
    return _without_data(alt.Chart(title=title, height=height).mark_line(point=points, interpolate="step").encode(
        x=alt.X("key:O", axis=time_axis(label_every)),
        y=alt.Y("value:Q", title=None),
        color=alt.Color("series:N", sort=list(names), scale=alt.Scale(scheme="tableau10")),
        tooltip=[alt.Tooltip("t:Q", title="step"), alt.Tooltip("symbol:N"), alt.Tooltip("series:N"),
                 alt.Tooltip("value:Q", format=".3f")],
    ).to_dict())


def unit_lines(series: dict[str, np.ndarray], labels: list[str], title: str, height: int = 220) -> None:
    """Several per-step series (e.g. one unit's gates and cell) on one time axis."""
    n = len(labels)
    st.vega_lite_chart(series_frame(series, labels), _lines_spec(tuple(series), every(labels), n <= 40, title, height),
                       width="stretch")


@st.cache_data(max_entries=256, show_spinner=False)
def _dual_spec(left: tuple, right: tuple, label_every: int, points: bool, title: str) -> dict:
    def side(names: tuple, orient: str) -> alt.Chart:
        return alt.Chart().transform_filter(alt.FieldOneOfPredicate("series", list(names))).mark_line(
            point=points, interpolate="step").encode(
            x=alt.X("key:O", axis=time_axis(label_every)),
            y=alt.Y("value:Q", title=", ".join(names), axis=alt.Axis(orient=orient)),
            color=alt.Color("series:N", sort=list(left + right),
                            scale=alt.Scale(domain=list(left + right), range=[STATE_COLOURS.get(n, "#222222")
                                                                              for n in left + right])),
            strokeDash=alt.value([5, 3] if orient == "right" else [1, 0]),
            tooltip=[alt.Tooltip("t:Q", title="step"), alt.Tooltip("symbol:N"), alt.Tooltip("series:N"),
                     alt.Tooltip("value:Q", format=".3f")])
    layers = [side(left, "left")] + ([side(right, "right")] if right else [])
    return _without_data(alt.layer(*layers, title=title, height=240).resolve_scale(y="independent").to_dict())


def dual_lines(left: dict[str, np.ndarray], right: dict[str, np.ndarray], labels: list[str], title: str) -> None:
    """Series on the left axis (e.g. a unit's c and h) and, dashed on their own right axis, e.g. the depth."""
    n = len(labels)
    spec = _dual_spec(tuple(left), tuple(right), every(labels), n <= 40, title)
    st.vega_lite_chart(series_frame({**left, **right}, labels), spec, width="stretch")


@st.cache_data(max_entries=256, show_spinner=False)
def _probs_spec(classes: tuple, label_every: int, title: str) -> dict:
    return _without_data(alt.Chart(title=title, height=120 + 22 * len(classes)).mark_rect().encode(
        x=alt.X("key:O", axis=time_axis(label_every)),
        # every class row labelled (Vega hides "overlapping" labels of short rows: B and C went missing)
        y=alt.Y("class:O", sort=list(classes), title="class",
                axis=alt.Axis(values=list(classes), labelOverlap=False, labelFontSize=11)),
        color=alt.Color("value:Q", scale=alt.Scale(scheme="greys", domain=[0, 1]), legend=None),
        tooltip=[alt.Tooltip("t:O", title="step"), alt.Tooltip("symbol:N"), alt.Tooltip("class:N"),
                 alt.Tooltip("value:Q", format=".3f", title="p")],
    ).to_dict())


def class_probs(probs: np.ndarray, classes: tuple, labels: list[str], title: str) -> None:
    """Per step, the probability of every class (a small heatmap: classes x time)."""
    table = heatmap_frame(probs, labels)
    table = table.append_column("class", _dictionary(list(classes), tile=len(labels)))
    st.vega_lite_chart(table, _probs_spec(tuple(classes), every(labels), title), width="stretch")


@st.cache_data(show_spinner=False)
def _gradient_spec(models: tuple, points: bool) -> dict:
    return _without_data(alt.Chart(height=280).mark_line(point=points).encode(
        x=alt.X("steps before the end:Q", scale=alt.Scale(reverse=True)),
        y=alt.Y("gradient norm:Q", scale=alt.Scale(type="log")),
        color=alt.Color("model:N", sort=list(models), scale=model_colour(models)),
        tooltip=[alt.Tooltip("model:N"), alt.Tooltip("steps before the end:Q"),
                 alt.Tooltip("gradient norm:Q", format=".2e")],
    ).to_dict())


# One fixed colour per model family, the same on every chart of the page (never Vega's order-dependent pick)
MODEL_COLOURS = {"LSTM": "#1f77b4", "GRU": "#ff7f0e", "plain RNN": "#2ca02c"}


def model_colour(names) -> alt.Scale:
    names = list(names)
    return alt.Scale(domain=names, range=[MODEL_COLOURS.get(n, "#7f7f7f") for n in names])


STATE_COLOURS = {"c": "#d62728", "h": "#9467bd"}  # anything else (the truth) is drawn near-black
GRAD_FLOOR = 1e-20  # exact zeros (float32 underflow) are drawn here on the log axis


def gradient_chart(norms: dict[str, np.ndarray], names: dict[str, str]) -> None:
    """Gradient norm per input position, log scale: how far back the last step's loss still reaches."""
    n = len(next(iter(norms.values())))
    table = pa.table({"steps before the end": np.tile(np.arange(n)[::-1], len(norms)),
                      "model": _dictionary([names[c] for c in norms], n),
                      "gradient norm": np.maximum(np.concatenate(list(norms.values())), GRAD_FLOOR)})
    st.vega_lite_chart(table, _gradient_spec(tuple(names[c] for c in norms), table.num_rows < 120), width="stretch")


def race_chart(df: pd.DataFrame, y: str, title: str, domain=None) -> alt.Chart:
    scale = alt.Scale(domain=domain) if domain else alt.Scale(zero=False)
    return alt.Chart(df, title=title, height=240).mark_line(point=len(df) < 60).encode(
        x=alt.X("step:Q"), y=alt.Y(f"{y}:Q", scale=scale), color=alt.Color("model:N", scale=model_colour(MODEL_COLOURS)),
        tooltip=["model", "step", alt.Tooltip(f"{y}:Q", format=".3f")])
