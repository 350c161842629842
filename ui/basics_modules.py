"""The nn.Module tab: the course's modules or your own layer list, inside and out."""
from __future__ import annotations

import pandas as pd
import streamlit as st
import torch.nn as nn

from dl_core import modules_demo as M
from ui import basics_charts as bc
from ui.common import device
from ui.plain import md

CHOICES = {"linear": "nn.Linear(5, 1)", "sequential": "nn.Sequential(...)", "ordered": "nn.Sequential(OrderedDict(...))",
           "custom": "Your layer list"}
CODE = {
    "linear": "model = nn.Linear(5, 1)",
    "sequential": "model = nn.Sequential(\n    nn.Linear(5, 5),\n    nn.ReLU(),\n    nn.Linear(5, 1),\n    nn.Sigmoid(),\n)",
    "ordered": "model = nn.Sequential(OrderedDict([\n    ('fc1', nn.Linear(5, 5)),\n    ('relu', nn.ReLU()),\n"
               "    ('fc2', nn.Linear(5, 1)),\n    ('sigmoid', nn.Sigmoid()),\n]))",
}


@st.cache_resource(max_entries=64, show_spinner=False)
def _model(choice: str, layers: str, seed: int) -> nn.Module:
    """Built once per (choice, layer text, seed) and only ever read afterwards (eval mode, no training)."""
    if choice == "linear":
        return M.course_linear(seed).eval()
    if choice == "sequential":
        return M.course_sequential(seed).eval()
    if choice == "ordered":
        return M.course_ordered(seed).eval()
    return M.build_layers(layers, seed).eval()


def _fmt(t) -> str:
    return "tensor(" + str([round(v, 4) for v in t.tolist()]) + ")" if t.dim() == 1 else \
        "tensor(" + str([[round(v, 4) for v in row] for row in t.tolist()]) + ")"


def tab() -> None:
    st.markdown("An `nn.Module` holds **parameters** (tensors with `requires_grad=True`) and a `forward` method. "
                "`nn.Linear(5, 1)` computes `x @ W.T + b` with `W` of shape (1, 5) and `b` of shape (1,). "
                "Build the course's modules or type your own layer list.")
    c1, c2 = st.columns([3, 1])
    choice = c1.radio("Module", list(CHOICES), format_func=CHOICES.get, key="basics_mod_choice", horizontal=True)
    seed = int(c2.number_input("seed (initial weights)", 0, 10_000, 0, key="basics_mod_seed"))
    layers = ""
    if choice == "custom":
        layers = st.text_area("One layer per line (Linear, ReLU, Sigmoid, Tanh, LeakyReLU, Softmax, Dropout, "
                              "Identity, BatchNorm1d)", M.COURSE_LAYERS, key="basics_mod_layers", height=130,
                              max_chars=2000)
    try:
        model = _model(choice, layers, seed)
    except M.LayerError as err:
        st.error(md(err), icon=":material/error:")
        return
    code = CODE.get(choice) or "model = nn.Sequential(\n" + "".join(
        f"    nn.{name}({', '.join(map(str, args))}),\n" for name, args in M.parse_layers(layers)) + ")"
    left, right = st.columns(2)
    with left:
        st.code(f"torch.manual_seed({seed})\n{code}", language="python")
        st.markdown("`print(model)`")
        st.code(repr(model), language=None)
    info = M.describe(model)
    with right:
        st.metric("Trainable parameters", f"{info.count:,}",
                  help="sum(p.numel() for p in model.parameters() if p.requires_grad)")
        st.markdown("`model.state_dict()`: every tensor the module saves, parameters and buffers")
        st.dataframe(pd.DataFrame(info.state_dict, columns=["key", "shape", "dtype"]).astype(str), hide_index=True,
                     width="stretch")
    st.markdown("**Parameters** (`model.named_parameters()`), hover for values:")
    shown = info.params[:8]
    cols = st.columns(max(1, min(4, len(shown))))
    for i, p in enumerate(shown):
        vals = p.values.numpy()
        with cols[i % len(cols)]:
            if vals.size <= 64:
                bc.show_matrix(st, vals.reshape(1, -1) if vals.ndim == 1 else vals, f"{p.name} {p.shape}",
                               cell=38, scheme="redblue", fmt=".2f")
            else:
                st.caption(f"{p.name} {p.shape}: {p.numel} values (too many to draw)")
    if len(info.params) > 8:
        st.caption(f"... and {len(info.params) - 8} more parameter tensors.")

    st.subheader("Forward pass")
    fw = M.forward_examples(model, seed)
    st.code(f"x = torch.randn({fw.x_one.shape[0]})        # one vector, shape {tuple(fw.x_one.shape)}\n"
            f"model(x)  # -> shape {tuple(fw.y_one.shape)}: {_fmt(fw.y_one)}\n\n"
            f"xb = torch.randn(3, {fw.x_one.shape[0]})     # a batch of 3, shape {tuple(fw.x_batch.shape)}\n"
            f"model(xb)  # -> shape {tuple(fw.y_batch.shape)}: {_fmt(fw.y_batch)}", language="python")
    st.caption("The first dimension is the batch: every layer works on all rows at once.")

    st.subheader("Two classic errors and their fixes")
    d1, d2 = st.columns(2)
    for col, title, mm in ((d1, "dtype mismatch", M.dtype_mismatch(model)),
                           (d2, "device mismatch", M.device_mismatch(model, device()))):
        with col:
            st.markdown(f"**{title}**")
            st.code(mm.code, language="python")
            if mm.error:
                st.error(f"RuntimeError: {md(mm.error)}", icon=":material/error:")
            else:
                st.info("No error with this model (it has no layer that checks).")
            st.code(mm.fix, language="python")
            st.success(f"Works: {_fmt(mm.fixed)}", icon=":material/check:")
    if device().type == "cpu":
        st.caption("This server has no GPU, so PyTorch's `meta` device stands in for one. With a GPU, the same "
                   "mistake raises \"Expected all tensors to be on the same device ...\", naming both devices.")
