"""The Autograd tab: type an expression, see PyTorch's graph, step the backward pass node by node."""
from __future__ import annotations

import math

import pandas as pd
import streamlit as st
import torch

from dl_core import expr as E
from dl_core import expr_numeric as EN
from ui import basics_charts as bc
from ui.plain import md
from ui import present

DEFAULT_EXPR = "h = sigmoid(relu(x*w + b) * 2 - 1)"
DEFAULT_VALUES = {"x": 1.0, "w": 0.5, "b": -0.2}
HS = [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10]
DTYPES = {"float32": torch.float32, "float64": torch.float64}
K = "basics_back_k"  # session key of the backward-step slider


@st.cache_data(max_entries=256, show_spinner=False)
def _graph(text: str, values: tuple[tuple[str, float], ...]) -> tuple[list[E.Node], list[E.BackStep], str]:
    """Plain data only (the tensors stay inside): nodes, backward steps, output name."""
    parsed = E.parse(text)
    graph = E.build(parsed, dict(values))
    return list(graph.nodes), list(E.backward_steps(graph)), graph.name


def _fmt(v: float | None) -> str:
    return "?" if v is None else f"{v:.4g}"


def _esc(s: str) -> str:
    s = s if len(s) <= 28 else s[:26] + ".."
    return s.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(nodes: list[E.Node], grads: dict[int, float], current: int | None, name: str) -> str:
    """micrograd-style: a box per value (value and grad), an ellipse per op between inputs and result."""
    lines = ["digraph G {", "rankdir=LR;", 'node [fontname="Helvetica", fontsize=11];']
    for n in nodes:
        label = name if n.id == nodes[-1].id else n.label
        grad = "-" if n.op == "const" else _fmt(grads.get(n.id))
        fill = "#ffb74d" if n.id == current else ("#c8e6c9" if n.id in grads else "#ffffff")
        border = "#1565c0" if n.op == "var" else "#555555"
        lines.append(f'v{n.id} [shape=box, style="rounded,filled", fillcolor="{fill}", color="{border}", '
                     f'label="{_esc(label)}\\nvalue {_fmt(n.value)}\\ngrad {grad}"];')
        if n.inputs:
            sym = {"neg": "-x"}.get(n.op, n.op)
            lines.append(f'o{n.id} [shape=ellipse, label="{_esc(sym)}", fontsize=10, width=0.3, height=0.3];')
            lines.append(f"o{n.id} -> v{n.id};")
            for i in dict.fromkeys(n.inputs):
                lines.append(f"v{i} -> o{n.id};")
    lines.append("}")
    return "\n".join(lines)


def _controls() -> tuple[E.Parsed | None, dict[str, float]]:
    text = st.text_input("Expression (variables, numbers, + - * / **, exp, log, tanh, relu, sigmoid)", DEFAULT_EXPR,
                         key="basics_expr", max_chars=E.MAX_CHARS * 12)
    try:
        parsed = E.parse(text)
    except E.ExprError as err:
        st.error(md(err), icon=":material/error:")
        return None, {}
    values = {}
    cols = st.columns(max(1, len(parsed.variables)))
    for col, v in zip(cols, parsed.variables):
        values[v] = float(col.number_input(v, -100.0, 100.0, DEFAULT_VALUES.get(v, 1.0), step=0.1,
                                           key=f"basics_var_{v}", format="%.3f"))
    return parsed, values


def _step(delta: int | None, n: int) -> None:
    st.session_state[K] = 0 if delta is None else max(0, min(n, st.session_state.get(K, 0) + delta))


def _stepper(nodes: list[E.Node], steps: list[E.BackStep], name: str) -> None:
    n = len(steps)
    if st.session_state.get("basics_back_for") != (nodes[-1].label, tuple(x.value for x in nodes)):
        st.session_state["basics_back_for"] = (nodes[-1].label, tuple(x.value for x in nodes))
        st.session_state[K] = 0  # a new graph starts with no gradients
    st.session_state[K] = min(st.session_state.get(K, 0), n)
    b1, b2, b3, _ = st.columns([1, 1, 1, 3])
    b1.button("Step backward", key="basics_btn_back_next", on_click=_step, args=(1, n), icon=":material/skip_next:")
    b2.button("All steps", key="basics_btn_back_all", on_click=_step, args=(n, n))
    b3.button("Reset", key="basics_btn_back_reset", on_click=_step, args=(None, n))
    k = st.slider("Backward steps done", 0, n, key=K)
    grads = steps[k - 1].grads if k else {}
    current = steps[k - 1].node if k else None
    present.graphviz(to_dot(nodes, grads, current, name))
    if k == 0:
        st.info(f"Forward pass done: every box shows its value. Press **Step backward**: the output gets "
                f"d{name}/d{name} = 1, then each node passes its gradient to its inputs.", icon=":material/arrow_back:")
    else:
        s, node = steps[k - 1], nodes[steps[k - 1].node]
        passed = ", ".join(f"`{_esc(nodes[i].label)}` += {g:.4g}" for i, g in s.shares) or "nothing (a leaf)"
        st.markdown(f"**Step {k} of {n}:** `{_esc(node.label)}` has its complete gradient "
                    f"d{name}/d({_esc(node.label)}) = **{s.upstream:.4g}**; its local backward passes on: {passed}.")
    leaves = [x for x in nodes if x.op == "var"]
    done = {steps[i].node for i in range(k)}
    parts = [f"**d{name}/d{x.label} = {grads[x.id]:.4f}**" if x.id in done else f"d{name}/d{x.label} = ?" for x in leaves]
    st.markdown("Gradients of the leaves: " + " &nbsp; ".join(parts))
    if k == n and leaves:
        same = all(abs(grads[x.id] - x.grad) <= 1e-6 * max(1.0, abs(x.grad)) for x in leaves)
        st.caption(("Identical" if same else "NOT identical") + f" to `.grad` after one `{name}.backward()` in PyTorch.")


def _set_backwards(n: int) -> None:
    st.session_state["basics_acc_n"] = n


def _accumulation(parsed: E.Parsed, values: dict[str, float]) -> None:
    st.subheader("Gradients accumulate")
    count = st.session_state.setdefault("basics_acc_n", 1)
    c1, c2, _ = st.columns([1, 1, 3])
    c1.button("backward() again", key="basics_btn_acc_more", disabled=count >= 5, on_click=_set_backwards,
              args=(count + 1,))
    c2.button("zero_grad()", key="basics_btn_acc_zero", on_click=_set_backwards, args=(1,))
    count = st.session_state["basics_acc_n"]
    history = E.accumulate(parsed, values, times=count)
    rows = [{"after": f"backward() #{i + 1}", **{f"{v}.grad": round(g, 5) for v, g in h.items()}}
            for i, h in enumerate(history)]
    st.table(pd.DataFrame(rows).set_index("after"))
    st.caption("PyTorch **adds** every new gradient to `.grad`. Without `optimizer.zero_grad()` (or `x.grad = None`) "
               "each training step would use the sum of all earlier gradients.")


@st.cache_data(max_entries=64, show_spinner=False)
def _sweep(text: str, values: tuple[tuple[str, float], ...], var: str) -> pd.DataFrame:
    parsed = E.parse(text)
    rows = []
    for dname, dt in DTYPES.items():
        for h, d, err in EN.h_sweep(parsed, dict(values), var, HS, dt):
            rows.append({"h": h, "dtype": dname, "numerical": d, "error": err if math.isfinite(err) and err > 0 else 1e-17})
    return pd.DataFrame(rows)


def _numerical(parsed: E.Parsed, values: dict[str, float]) -> None:
    st.subheader("Check with a numerical derivative")
    if not parsed.variables:
        st.info("The expression has no variables to differentiate.")
        return
    c1, c2, c3 = st.columns(3)
    var = c1.selectbox("with respect to", parsed.variables, key="basics_num_var")
    h = c2.select_slider("step h", HS, value=1e-3, key="basics_num_h", format_func=lambda v: f"{v:.0e}")
    dname = c3.radio("dtype", list(DTYPES), key="basics_num_dtype", horizontal=True)
    try:
        exact = next(n.grad for n in E.build(parsed, values, DTYPES[dname]).nodes if n.op == "var" and n.label == var)
    except E.ExprError as err:  # finite in float32 is not finite in float64 (and back)
        st.warning(f"In {dname} the expression itself cannot be evaluated at these values:", icon=":material/warning:")
        st.text(str(err))
        return
    num = EN.numerical(parsed, values, var, h, DTYPES[dname])
    st.latex(rf"\frac{{f({var}+h) - f({var}-h)}}{{2h}} = {num:.6g} \qquad \text{{autograd: }} {exact:.6g}")
    rel = abs(num - exact) / max(abs(exact), 1e-12)
    if not math.isfinite(num) or rel > 0.05:
        st.warning(f"The numerical derivative is off by {rel:.0%}. With h = {h:.0e} in {dname}, {var} + h and {var} - h "
                   "are (almost) the same number: the difference of f is all rounding error (float32 keeps about 7 "
                   "significant digits, float64 about 16).", icon=":material/warning:")
    df = _sweep(parsed.source, tuple(sorted(values.items())), var)
    st.vega_lite_chart(spec=bc.with_data(bc.template("error_vs_h"), sweep=df), width="stretch")


def tab() -> None:
    st.markdown("Type a formula. It is parsed safely (an AST whitelist, never `eval`), every piece becomes a "
                "real PyTorch op, and the graph below is what autograd records. Then walk **backward** through "
                "it: each node multiplies the gradient it receives by its local derivative and passes it on.")
    parsed, values = _controls()
    if parsed is None:
        return
    try:
        nodes, steps, name = _graph(parsed.source, tuple(values.items()))
    except E.ExprError as err:
        st.error(md(err), icon=":material/error:")
        return
    _stepper(nodes, steps, name)
    _accumulation(parsed, values)
    _numerical(parsed, values)
