"""Altair charts for the PyTorch basics page. Inputs are numpy arrays; every chart has hover tooltips."""
from __future__ import annotations

import sys

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from ui.charts import with_wrapped_title, wrap_title

CLASS_COLORS = ["#f59322", "#0877bd"]  # TensorFlow Playground's orange (class 0) and blue (class 1)


def show(container, fn, *args, stretch: bool = False, key: str | None = None, **kwargs) -> None:
    """Draw ``fn(*args, **kwargs)``. Its Vega-Lite spec is cached, so an unchanged chart costs no Altair
    work (building and validating a spec takes tens of ms) on the next rerun. The cache is keyed by the
    inputs, or by ``key`` alone when given (then the inputs are not hashed at all)."""
    spec = _spec_by_key(fn.__name__, key, args, kwargs) if key else _spec(fn.__name__, args, kwargs)
    container.vega_lite_chart(spec=with_wrapped_title(spec), width="stretch" if stretch else "content")


def _to_spec(name: str, args: tuple, kwargs: dict) -> dict:
    spec = getattr(sys.modules[__name__], name)(*args, **kwargs).to_dict()
    # data frames turn into Arrow bytes much faster than lists of row dicts, on every rerun
    spec["datasets"] = {k: pd.DataFrame(v) for k, v in spec.get("datasets", {}).items()}
    return spec


@st.cache_data(max_entries=256, show_spinner=False)
def _spec(name: str, args: tuple, kwargs: dict) -> dict:
    return _to_spec(name, args, kwargs)


@st.cache_data(max_entries=256, show_spinner=False)
def _spec_by_key(name: str, key: str, _args: tuple, _kwargs: dict) -> dict:
    return _to_spec(name, _args, _kwargs)


def matrix_cells(arr: np.ndarray, fmt: str = ".3g") -> pd.DataFrame:
    """A 2-D array as rows of (row, col, value, label)."""
    arr = np.atleast_2d(arr)
    r, c = np.meshgrid(np.arange(arr.shape[0]), np.arange(arr.shape[1]), indexing="ij")
    vals = arr.astype(np.float64).ravel()
    return pd.DataFrame({"row": r.ravel(), "col": c.ravel(), "value": vals, "label": [format(v, fmt) for v in vals]})


def matrix(title: str = "", cell: int = 34, scheme: str = "blues", text: bool = True) -> alt.LayerChart:
    """Coloured cells with the values written in (hover for the exact value), from the dataset "cells"."""
    base = alt.Chart(alt.Data(name="cells"), title=title).encode(x=alt.X("col:O", title=None),
                                                                  y=alt.Y("row:O", title=None))
    rect = base.mark_rect(stroke="white").encode(
        color=alt.Color("value:Q", scale=alt.Scale(scheme=scheme), legend=None),
        tooltip=["row:O", "col:O", alt.Tooltip("value:Q", format=".5g")])
    layers = [rect, base.mark_text(fontSize=11).encode(text="label:N")] if text else [rect]
    # discrete axes need Step sizing: a fixed pixel height collapses in Streamlit's Vega-Lite renderer;
    # Step sizing and Streamlit's default autosize "fit" do not mix (Vega-Lite warns), so pad
    return alt.layer(*layers).properties(width=alt.Step(cell), height=alt.Step(cell), autosize="pad")


def show_matrix(container, arr: np.ndarray, title: str = "", cell: int = 34, scheme: str = "blues",
                fmt: str = ".3g") -> None:
    """New values cost no Altair work: the spec is a cached template, only the data change."""
    spec = template("matrix", title, cell, scheme, np.size(arr) <= 400)
    container.vega_lite_chart(spec=with_data(spec, cells=matrix_cells(arr, fmt)), width="content")


def index_moves(before: np.ndarray, after: np.ndarray, cell: int = 34) -> alt.HConcatChart:
    """Two grids of flat source indices, coloured by index: where did each element go?"""
    def grid(a: np.ndarray, title: str) -> alt.Chart:
        a = a.reshape(-1, a.shape[-1]) if a.ndim > 1 else a[None]
        r, c = np.meshgrid(np.arange(a.shape[0]), np.arange(a.shape[1]), indexing="ij")
        df = pd.DataFrame({"row": r.ravel(), "col": c.ravel(), "index": a.ravel()})
        base = alt.Chart(df, title=title).encode(x=alt.X("col:O", title=None), y=alt.Y("row:O", title=None))
        return alt.layer(
            base.mark_rect(stroke="white").encode(
                color=alt.Color("index:Q", scale=alt.Scale(scheme="turbo", domain=[0, max(int(before.size) - 1, 1)]),
                                legend=None),
                tooltip=["row", "col", alt.Tooltip("index:Q", title="came from element")]),
            base.mark_text(fontSize=11, color="white").encode(text="index:Q"),
        ).properties(width=alt.Step(cell), height=alt.Step(cell))
    # autosize "fit" (Streamlit's default) works for single and layered views only: pad
    return alt.hconcat(grid(before, "before (flat index of each element)"), grid(after, "after")).properties(autosize="pad")


def blocks(shapes: list[tuple[str, int, int]], unit: int = 18) -> alt.Chart:
    """Rectangles sized rows x cols side by side, e.g. A (n x k) @ B (k x m) = C (n x m)."""
    rows, x = [], 0
    for name, h, w in shapes:
        hh, ww = min(h, 12), min(w, 12)  # draw at most 12 x 12 units, label the real size
        rows.append({"name": name, "x": x, "x2": x + ww, "y": 0, "y2": hh, "size": f"{h} x {w}", "label": f"{name}: {h} x {w}"})
        x += ww + 2
    df = pd.DataFrame(rows)
    base = alt.Chart(df)
    rect = base.mark_rect(opacity=0.75, stroke="black").encode(
        x=alt.X("x:Q", axis=None, scale=alt.Scale(domain=[0, x])), x2="x2",
        y=alt.Y("y:Q", axis=None, scale=alt.Scale(domain=[13, 0])), y2="y2",
        color=alt.Color("name:N", legend=None), tooltip=["name", "size"])
    text = base.mark_text(dy=-8, fontSize=12).encode(x=alt.X("x:Q"), y=alt.Y("y:Q"), text="label:N")
    return alt.layer(rect, text.encode(x=alt.X("x:Q"))).properties(width=unit * x, height=unit * 13)


def curves(df: pd.DataFrame, x: str, y: str, color: str, title: str = "", height: int = 220,
           log_y: bool = False) -> alt.Chart:
    return alt.Chart(df, title=title, height=height).mark_line().encode(
        x=alt.X(f"{x}:Q"), y=alt.Y(f"{y}:Q", scale=alt.Scale(type="symlog") if log_y else alt.Undefined),
        color=alt.Color(f"{color}:N"),
        tooltip=[color, alt.Tooltip(f"{x}:Q", format=".2f"), alt.Tooltip(f"{y}:Q", format=".4f")])


def bars(x: str, y: str, color: str, title: str = "", height: int = 200) -> alt.Chart:
    """Grouped bars from the dataset "bars" (a template: see ``template`` and ``with_data``)."""
    return alt.Chart(alt.Data(name="bars"), title=title, height=height).mark_bar().encode(
        x=alt.X(f"{x}:N", sort=None, axis=alt.Axis(labelAngle=0)), xOffset=f"{color}:N", y=alt.Y(f"{y}:Q"),
        color=alt.Color(f"{color}:N"), tooltip=[f"{x}:N", f"{color}:N", alt.Tooltip(f"{y}:Q", format=".4f")])


def surface(xs: np.ndarray, ys: np.ndarray, z: np.ndarray, paths: dict[str, np.ndarray], log: bool,
            minimum: tuple[float, float] | None, size: int = 460) -> alt.Chart:
    """The loss surface as a heatmap with each optimizer's path drawn on top."""
    xx, yy = np.meshgrid(xs, ys)
    dx, dy = float(xs[1] - xs[0]), float(ys[1] - ys[0])
    shown = np.log10(1 + z) if log else z
    heat = pd.DataFrame({"x": xx.ravel() - dx / 2, "x2": xx.ravel() + dx / 2, "y": yy.ravel() - dy / 2,
                         "y2": yy.ravel() + dy / 2, "loss": z.ravel(), "shade": shown.ravel()})
    sx = alt.Scale(domain=[float(xs[0]), float(xs[-1])], nice=False)
    sy = alt.Scale(domain=[float(ys[0]), float(ys[-1])], nice=False)
    layers = [alt.Chart(heat).mark_rect(strokeWidth=0).encode(
        x=alt.X("x:Q", scale=sx, title="x"), x2="x2", y=alt.Y("y:Q", scale=sy, title="y"), y2="y2",
        color=alt.Color("shade:Q", scale=alt.Scale(scheme="greys", reverse=True), legend=None),
        tooltip=[alt.Tooltip("loss:Q", format=".4g")])]
    rows = [(name, int(s), float(px), float(py), float(l)) for name, arr in paths.items() for s, px, py, l in arr]
    path = pd.DataFrame(rows, columns=["optimizer", "step", "px", "py", "loss"])
    inside = path[(path.px.between(xs[0], xs[-1])) & (path.py.between(ys[0], ys[-1]))]
    enc = dict(x=alt.X("px:Q", scale=sx), y=alt.Y("py:Q", scale=sy), color=alt.Color("optimizer:N"),
               tooltip=["optimizer", "step", alt.Tooltip("px:Q", format=".3f", title="x"),
                        alt.Tooltip("py:Q", format=".3f", title="y"), alt.Tooltip("loss:Q", format=".4g")])
    layers.append(alt.Chart(inside).mark_line(strokeWidth=2).encode(order="step:Q", **enc))
    last = inside.sort_values("step").groupby("optimizer").tail(1)
    layers.append(alt.Chart(last).mark_point(size=80, filled=True).encode(
        **{**enc, "color": alt.Color("optimizer:N", legend=None)}))
    if minimum is not None:
        layers.append(alt.Chart(pd.DataFrame({"px": [minimum[0]], "py": [minimum[1]]})).mark_point(
            shape="cross", size=160, color="red").encode(x=alt.X("px:Q", scale=sx), y=alt.Y("py:Q", scale=sy)))
    return alt.layer(*layers).properties(width=size, height=size)


def decision_frames(prob: np.ndarray, lim: float) -> pd.DataFrame:
    """The (n, n) probability grid (row 0 at the top) as one rectangle per cell."""
    n = prob.shape[0]
    step = 2 * lim / (n - 1)
    xx, yy = np.meshgrid(np.linspace(-lim, lim, n), np.linspace(lim, -lim, n))
    return pd.DataFrame({"x": xx.ravel() - step / 2, "x2": xx.ravel() + step / 2, "y": yy.ravel() - step / 2,
                         "y2": yy.ravel() + step / 2, "p": prob.ravel().round(3)})


def decision(lim: float, size: int = 360) -> alt.Chart:
    """P(class 1) as a background (orange 0 .. blue 1) with train and test points. The data are named
    datasets ("heat", "points") filled in by ``with_data``, so a live redraw never rebuilds the spec."""
    sc = alt.Scale(domain=[-lim, lim], nice=False)
    colour = alt.Scale(domain=[0, 0.5, 1], range=[CLASS_COLORS[0], "#f7f7f7", CLASS_COLORS[1]])
    bg = alt.Chart(alt.Data(name="heat")).mark_rect(opacity=0.75).encode(
        x=alt.X("x:Q", scale=sc, title="x1"), x2="x2", y=alt.Y("y:Q", scale=sc, title="x2"), y2="y2",
        color=alt.Color("p:Q", scale=colour, legend=None), tooltip=[alt.Tooltip("p:Q", title="P(class 1)")])
    pts = alt.Chart(alt.Data(name="points")).mark_point(filled=True, size=28, opacity=0.95).encode(
        x=alt.X("x1:Q", scale=sc), y=alt.Y("x2:Q", scale=sc),
        color=alt.Color("label:N", scale=alt.Scale(domain=["0", "1"], range=CLASS_COLORS), legend=None),
        shape=alt.Shape("split:N", scale=alt.Scale(domain=["train", "test"], range=["circle", "square"])),
        stroke=alt.value("white"), strokeWidth=alt.value(0.6),
        tooltip=["split:N", "label:N", alt.Tooltip("x1:Q", format=".2f"), alt.Tooltip("x2:Q", format=".2f")])
    return alt.layer(bg, pts).properties(width=size, height=size)


def loss_curves(height: int = 220) -> alt.Chart:
    """Train and test loss against the step, from the named dataset "curve" (step, loss, set)."""
    return alt.Chart(alt.Data(name="curve"), title="Loss", height=height).mark_line().encode(
        x=alt.X("step:Q"), y=alt.Y("loss:Q", scale=alt.Scale(zero=False)), color=alt.Color("set:N"),
        tooltip=["set:N", "step:Q", alt.Tooltip("loss:Q", format=".4f")])


@st.cache_data(max_entries=128, show_spinner=False)
def template(name: str, *args) -> dict:
    """The Vega-Lite spec of a chart whose data come as named datasets (a fresh copy on every call)."""
    return getattr(sys.modules[__name__], name)(*args).to_dict()


def with_data(spec: dict, **frames: pd.DataFrame) -> dict:
    spec["datasets"] = frames
    return spec


def error_vs_h() -> alt.Chart:
    """|numerical - autograd| against the step h from the dataset "sweep", both axes log, a line per dtype."""
    return alt.Chart(alt.Data(name="sweep"), height=220, title=wrap_title("|numerical - autograd| against h (both axes log)")
                     ).mark_line(point=True).encode(
        x=alt.X("h:Q", scale=alt.Scale(type="log", reverse=True)), y=alt.Y("error:Q", scale=alt.Scale(type="log")),
        color="dtype:N", tooltip=["dtype:N", alt.Tooltip("h:Q", format=".0e"), alt.Tooltip("numerical:Q", format=".6g"),
                                  alt.Tooltip("error:Q", format=".2e")])
