"""The Losses & optimizers tab: activation explorer, loss explorer, optimizer race."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
import torch

from dl_core import optim_race as O
from dl_core import tensors as T
from ui import basics_charts as bc
from ui.plain import md


def _vector(label: str, default: str, key: str, dims: int = 1, max_len: int = 64) -> torch.Tensor | None:
    text = st.text_input(label, default, key=key, max_chars=2000)
    try:
        t = torch.tensor(T.parse_values(text), dtype=torch.float32)
    except (T.TensorError, ValueError, TypeError, RuntimeError) as err:
        st.warning(f"`{label}`: {md(err)}", icon=":material/warning:")
        return None
    if t.dim() != dims or t.numel() == 0 or t.shape[-1] > max_len or t.numel() > 4 * max_len:
        st.warning(f"`{label}` must be a non-empty {'list' if dims == 1 else 'list of lists'} of at most "
                   f"{max_len} numbers per row.", icon=":material/warning:")
        return None
    if not torch.isfinite(t).all():
        st.warning(f"`{label}` must hold finite numbers.", icon=":material/warning:")
        return None
    return t


@st.cache_data(show_spinner=False)
def _curves() -> pd.DataFrame:
    rows = []
    for name, (x, y, dy) in O.activation_curves(n=101).items():
        rows.append(pd.DataFrame({"x": x, "value": y, "activation": name, "curve": "f(x)"}))
        rows.append(pd.DataFrame({"x": x, "value": dy, "activation": name + "'", "curve": "f'(x) via autograd"}))
    return pd.concat(rows, ignore_index=True)


def _activations() -> None:
    st.subheader("Activation functions")
    df = _curves()
    c1, c2 = st.columns(2)
    bc.show(c1, bc.curves, df[df.curve == "f(x)"], "x", "value", "activation", "f(x)", stretch=True, key="act")
    bc.show(c2, bc.curves, df[df.curve != "f(x)"], "x", "value", "activation", "derivative f'(x), from autograd",
            stretch=True, key="act-grad")
    v = _vector("Your vector", "[2.0, 1.0, 0.1, -1.0]", "basics_act_vec")
    if v is None:
        return
    out = O.activations(v)
    long = pd.DataFrame([{"element": str(i), "function": k, "output": float(val)} for k, arr in out.items()
                         for i, val in enumerate(arr)])
    spec = bc.template("bars", "element", "output", "function", "each activation applied to your vector")
    st.vega_lite_chart(spec=bc.with_data(spec, bars=long), width="stretch")
    st.caption(f"softmax sums to {out['softmax'].sum():.4f}: it turns any vector into probabilities (it needs the "
               "whole vector, unlike the element-wise ReLU, sigmoid and tanh).")


def _losses() -> None:
    st.subheader("Loss functions")
    c1, c2 = st.columns(2)
    with c1:
        st.markdown("**Mean squared error** (regression)")
        pred = _vector("predictions", str(O.MSE_DEFAULT[0]), "basics_mse_pred")
        target = _vector("targets", str(O.MSE_DEFAULT[1]), "basics_mse_target")
        if pred is not None and target is not None:
            if pred.shape != target.shape:
                st.warning(f"predictions {tuple(pred.shape)} and targets {tuple(target.shape)} need the same shape.")
            else:
                r = O.mse(pred, target)
                st.metric("nn.MSELoss()(pred, target)", f"{r.torch:.4f}")
                st.code(f"squared errors: {np.array2string(r.per_item, precision=4, separator=', ')}\n"
                        f"mean by hand:   {r.by_hand:.4f}", language=None)
    with c2:
        st.markdown("**Cross-entropy** (classification; the inputs are raw logits)")
        logits = _vector("logits (one row per sample)", str(O.CE_DEFAULT[0]), "basics_ce_logits", dims=2, max_len=16)
        classes = _vector("true class of each row", str(O.CE_DEFAULT[1]), "basics_ce_target")
        if logits is not None and classes is not None:
            if classes.shape[0] != logits.shape[0] or (classes != classes.round()).any() \
                    or classes.min() < 0 or classes.max() >= logits.shape[1]:
                st.warning(f"Give one whole class number from 0 to {logits.shape[1] - 1} per row "
                           f"({logits.shape[0]} rows).")
            else:
                r = O.cross_entropy(logits, classes.long())
                st.metric("nn.CrossEntropyLoss()(logits, target)", f"{r.torch:.4f}")
                probs = np.array2string(r.probs, precision=4, separator=", ", suppress_small=True)
                st.code(f"softmax of each row:\n{probs}\n-log p(true class): "
                        f"{np.array2string(r.per_item, precision=4, separator=', ')}\nmean by hand: {r.by_hand:.4f}",
                        language=None)
    st.caption("The defaults reproduce the course's numbers, MSE 3.6667 and cross-entropy 1.6856: the second row "
               "is confidently wrong (class 0 gets 0.91), and that one row dominates the mean.")


@st.cache_data(max_entries=64, show_spinner=False)
def _race(surface: str, lrs: tuple[tuple[str, float], ...], steps: int, start: tuple[float, float]):
    return O.race(surface, dict(lrs), steps, start)


@st.cache_data(max_entries=8, show_spinner=False)
def _grid(surface: str):
    return O.grid(surface, 60)


def _race_ui() -> None:
    st.subheader("Optimizer race")
    c1, c2, c3 = st.columns([1.2, 1, 2])
    surface = c1.selectbox("Loss surface", list(O.SURFACES), format_func=lambda k: O.SURFACES[k].name,
                           key="basics_opt_surface")
    steps = c2.slider("steps", 10, O.MAX_STEPS, 300, step=10, key="basics_opt_steps")
    which = c3.multiselect("optimizers", list(O.OPTIMIZERS), default=list(O.OPTIMIZERS), key="basics_opt_which")
    s = O.SURFACES[surface]
    st.caption(s.note)
    if not which:
        st.info("Pick at least one optimizer.")
        return
    lr_cols = st.columns(len(which))
    lrs = tuple((name, float(col.number_input(f"lr {name}", 1e-5, 10.0, O.DEFAULT_LRS[surface][name], format="%.4f",
                                              key=f"basics_opt_lr_{surface}_{name}")))
                for col, name in zip(lr_cols, which))
    paths = _race(surface, lrs, steps, s.start)
    left, right = st.columns([1.3, 1])
    bc.show(left, bc.surface, *_grid(surface), paths, s.log_scale, s.minimum)
    rows = []
    for name, arr in paths.items():
        done = len(arr) - 1
        rows.append({"optimizer": name, "steps": done, "final x": round(arr[-1, 1], 4), "final y": round(arr[-1, 2], 4),
                     "final loss": float(f"{arr[-1, 3]:.4g}"), "diverged": done < steps})
    right.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    long = pd.DataFrame([{"step": int(r[0]), "loss": float(r[3]), "optimizer": n}
                         for n, arr in paths.items() for r in arr[:: max(1, len(arr) // 150)]])
    bc.show(right, bc.curves, long, "step", "loss", "optimizer", "loss per step (symlog scale)", log_y=True, stretch=True)
    right.code(f"p = nn.Parameter(torch.tensor({list(s.start)}))\nopt = torch.optim.Adam([p], lr=...)\n"
               "for step in range(steps):\n    loss = f(p[0], p[1])\n    opt.zero_grad()\n    loss.backward()\n"
               "    opt.step()", language="python")


def tab() -> None:
    st.markdown("A network is layers plus **activations**; training minimises a **loss** with an **optimizer**. "
                "Here are all three, small enough to see every number.")
    _activations()
    _losses()
    _race_ui()
