"""The Tensors tab: build a tensor, the dtype table, casting, reshaping, broadcasting, promotion, matmul."""
from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from dl_core import tensors as T
from dl_core import tensor_rules as TR
from ui import basics_charts as bc
from ui.common import device
from ui.plain import md

SOURCES = ["list", "numpy", "zeros", "ones", "empty", "rand", "randn", "arange"]
DTYPE_NAMES = [d.name for d in T.DTYPES]


def _build() -> torch.Tensor | None:
    c1, c2, c3 = st.columns([1.3, 1, 1])
    source = c1.selectbox("Build from", SOURCES, key="basics_t_source",
                          format_func=lambda s: {"list": "a Python list", "numpy": "a numpy array"}.get(s, f"torch.{s}"))
    dtype = c2.selectbox("dtype", DTYPE_NAMES, key="basics_t_dtype")
    devices = ["cpu"] + ([str(device())] if device().type != "cpu" else [])
    dev = c3.selectbox("device", devices, key="basics_t_device")
    kwargs = {}
    if source in ("list", "numpy"):
        kwargs["values"] = st.text_input("Values (nested lists of numbers)", "[[1, 2, 3], [4, 5, 6]]", key="basics_t_values",
                                         max_chars=2000)
    elif source == "arange":
        a, b, s = st.columns(3)
        kwargs.update(start=a.number_input("start", -1000.0, 1000.0, 0.0, key="basics_t_start"),
                      end=b.number_input("end", -1000.0, 1000.0, 6.0, key="basics_t_end"),
                      step=s.number_input("step", -100.0, 100.0, 1.0, key="basics_t_step"))
    else:
        a, b = st.columns(2)
        kwargs["shape"] = a.text_input("shape", "2, 3", key="basics_t_shape", max_chars=60)
        if source in ("rand", "randn"):
            kwargs["seed"] = int(b.number_input("seed", 0, 10_000, 0, key="basics_t_seed"))
    try:
        built = T.build(source, dtype, torch.device(dev), **kwargs)
    except T.TensorError as err:
        st.error(f"PyTorch says: {md(err)}", icon=":material/error:")
        return None
    st.code(built.code, language="python")
    t = built.tensor
    if source == "empty":
        st.caption("`torch.empty` only reserves memory: the values are whatever was there before.")
    if source == "numpy":
        st.caption("`torch.from_numpy` keeps numpy's dtype (float64 for Python floats) and shares its memory; "
                   "`.to(...)` makes a copy.")
    left, right = st.columns([1, 1.3])
    info = T.info(t)
    left.dataframe(pd.DataFrame({"property": list(info), "value": [str(v) for v in info.values()]}),
                   hide_index=True, width="stretch")
    with right:
        st.code(f"t.size()   # {t.size()}\nt.shape    # same thing\nt.dtype    # {t.dtype}"
                + (f"\nt.view(-1)[0].item()   # {t.view(-1)[0].item()!r}: a plain Python number" if t.numel() else ""),
                language="python")
        if 1 <= t.dim() <= 2 and 1 <= t.numel() <= 400 and max(t.shape) <= 400 and t.dtype != torch.bool:
            bc.show_matrix(st, t.detach().cpu().double().numpy(), title="values (hover for exact numbers)")
        else:
            st.code(str(t.cpu())[:3000], language=None)
    return t.cpu()


def _dtypes(t: torch.Tensor | None) -> None:
    st.markdown("**The dtypes and their aliases.** The notebook's eight, plus two added since. `torch.float` *is* "
                "`torch.float32`; the legacy types (`torch.FloatTensor`) still exist but `dtype=` is today's way.")
    st.dataframe(pd.DataFrame(T.dtype_table()), hide_index=True, width="stretch")
    if t is not None and t.numel():
        st.markdown("**Casting your tensor** with `t.to(dtype)`: floats are truncated towards zero, and integers "
                    "that do not fit wrap around.")
        st.dataframe(pd.DataFrame(T.cast_all(t)), hide_index=True, width="stretch")


def _reshape(t: torch.Tensor | None) -> None:
    st.subheader("view, reshape, permute, transpose")
    if t is None or t.numel() == 0 or t.numel() > 144:
        t = torch.arange(6.0).view(2, 3)
        st.caption("Using `t = torch.arange(6.).view(2, 3)` (your tensor is missing, empty or bigger than 144 elements).")
    c1, c2, c3 = st.columns([1, 1, 1.4])
    op = c1.selectbox("operation", T.RESHAPE_OPS, key="basics_t_op")
    default = {"view": "-1, 2", "reshape": "-1, 2", "permute": "1, 0", "transpose": "0, 1"}.get(op, "")
    args_text = c2.text_input("arguments", default, key=f"basics_t_args_{op}", disabled=not default, max_chars=40)
    first = c3.checkbox("start from `t.t()` (a transposed, non-contiguous view)", key="basics_t_transposed",
                        disabled=t.dim() != 2)
    try:
        args = T.parse_shape(args_text, allow_infer=True) if op not in ("flatten", "contiguous") else ()
    except T.TensorError as err:
        st.warning(md(err))
        return
    if op == "transpose" and len(args) != 2:
        st.warning("`transpose` swaps exactly two dimensions: type two numbers, e.g. `0, 1`.")
        return
    res = T.reshape(t, op, args, first and t.dim() == 2)
    st.code(res.code, language="python")
    if res.error:
        st.error(f"RuntimeError: {md(res.error)}", icon=":material/error:")
        if "view" in res.code and "stride" in res.error:
            st.info("`view` never copies, so it needs memory laid out in the right order. `t.t()` only swaps the "
                    "strides; `reshape` (or `.contiguous().view(...)`) copies when it must.")
        return
    st.caption(f"Result shape {tuple(res.tensor.shape)}, strides {res.tensor.stride()}: "
               + ("**a view**, sharing memory with `t`." if res.shares_memory else "**a copy** in new memory."))
    base = torch.arange(t.numel()).view(t.shape)
    base = base.t() if first and t.dim() == 2 else base
    bc.show(st, bc.index_moves, base.numpy(), res.source_index.numpy())


def _broadcast() -> None:
    st.subheader("Broadcasting")
    c1, c2 = st.columns(2)
    try:
        a = T.parse_shape(c1.text_input("shape of a", "4, 1, 3", key="basics_t_bc_a", max_chars=40))
        b = T.parse_shape(c2.text_input("shape of b", "5, 1", key="basics_t_bc_b", max_chars=40))
    except T.TensorError as err:
        st.warning(md(err))
        return
    res = TR.broadcast(a, b)
    st.code(f"torch.ones({', '.join(map(str, a))}) + torch.ones({', '.join(map(str, b))})", language="python")
    table = pd.DataFrame({"a (padded left with 1s)": list(map(str, res.aligned_a)),
                          "b (padded left with 1s)": list(map(str, res.aligned_b)), "rule": list(res.dims)},
                         index=[f"dim {i - len(res.dims)}" for i in range(len(res.dims))]).T
    st.dataframe(table, width="stretch")
    if res.result is not None:
        st.success(f"Result shape: {res.result}", icon=":material/check:")
    else:
        st.error(f"RuntimeError: {md(res.error)}", icon=":material/error:")


def _promotion() -> None:
    st.subheader("Mixed dtypes: type promotion")
    c1, c2, c3 = st.columns(3)
    a = c1.selectbox("dtype of a", DTYPE_NAMES, index=DTYPE_NAMES.index("int64"), key="basics_t_pa")
    op = c2.selectbox("op", list(TR.OPS), key="basics_t_pop")
    b = c3.selectbox("dtype of b", DTYPE_NAMES, index=DTYPE_NAMES.index("float32"), key="basics_t_pb")
    res = TR.promote(a, b, op)
    st.code(res.code, language="python")
    if res.error:
        st.error(f"RuntimeError: {md(res.error)}", icon=":material/error:")
    else:
        st.success(f"`{res.result}`, dtype **torch.{res.dtype}**", icon=":material/check:")
    st.info("**Then and now.** In the course's PyTorch 0.4/1.0, mixing dtypes failed (\"Expected object of scalar "
            "type Long but got scalar type Float\"), so the notebook said to cast first. Since PyTorch 1.3 an int + "
            "float op promotes to the float type, as above. And `/` on two integer tensors used to floor-divide; "
            "since 1.7 it is true division with a float result (use `//` for the old behaviour).",
            icon=":material/history:")
    st.markdown("**In place, the result must fit the tensor's own dtype.** The notebook's `x /= 7` on an int "
                "tensor floor-divided in place; today it raises:")
    c1, c2 = st.columns([1, 3])
    dt = c1.selectbox("dtype of x", DTYPE_NAMES, index=DTYPE_NAMES.index("int64"), key="basics_t_ip_dtype")
    ip = TR.inplace(dt)
    c2.code(ip.code, language="python")
    if ip.error:
        st.error(f"RuntimeError: {md(ip.error)}", icon=":material/error:")
        st.caption("Fix: `x = x / 7` (a new float tensor), or `x //= 7` to floor-divide and keep the integers.")
    else:
        st.success(f"x is now `{ip.result}` (torch.{ip.dtype})", icon=":material/check:")


def _matmul() -> None:
    st.subheader("matmul: A @ B")
    c1, c2 = st.columns(2)
    try:
        a = T.parse_shape(c1.text_input("shape of A", "2, 3", key="basics_t_mm_a", max_chars=40))
        b = T.parse_shape(c2.text_input("shape of B", "3, 4", key="basics_t_mm_b", max_chars=40))
    except T.TensorError as err:
        st.warning(md(err))
        return
    if not a or not b:
        st.warning("matmul needs tensors with at least one dimension.")
        return
    out, error = TR.matmul_shapes(a, b)
    st.code(f"torch.randn({', '.join(map(str, a))}) @ torch.randn({', '.join(map(str, b))})", language="python")
    if error:
        st.error(f"RuntimeError: {md(error)}", icon=":material/error:")
        return
    st.success(f"Result shape: {out}. The inner sizes ({a[-1]} and {b[-2] if len(b) > 1 else b[0]}) meet and vanish.",
               icon=":material/check:")
    if len(a) == 2 and len(b) == 2:
        bc.show(st, bc.blocks, [("A", a[0], a[1]), ("B", b[0], b[1]), ("A @ B", out[0], out[1])])


def tab() -> None:
    st.markdown("Everything in PyTorch is a tensor: an n-dimensional array with a **dtype**, a **shape**, "
                "**strides** (how far to jump in memory per index step) and a **device**. Build one and look at it.")
    t = _build()
    with st.expander("dtypes, aliases and casting", expanded=False):
        _dtypes(t)
    _reshape(t)
    _broadcast()
    _promotion()
    _matmul()
