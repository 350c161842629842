"""The transformer page's attention calculator: a sentence -> Q, K, V -> QK^T -> / sqrt(d_k) -> mask ->
softmax -> weights @ V, for one head and for all heads, with random (seeded) or trained weights."""
from __future__ import annotations

import re
import unicodedata
import zlib

import numpy as np
import pandas as pd
import streamlit as st
import torch

from dl_core import attention as A
from dl_core.seq_tasks import PAD, TASK
from ui import transformer_charts as tc
from ui.transformer_model import shipped
from ui.transformer_state import get

MAX_TOKENS = 32
MASKS = ["no mask", "causal", "padding"]
EXAMPLES = ["the cat sat on the mat because it was tired", "I saw the man with the telescope",
            "attention is all you need", "the animal did not cross the street because it was too wide"]


def tokenize(text: str, limit: int = MAX_TOKENS) -> tuple[list[str], list[str]]:
    """Words and punctuation marks as tokens (after dropping invisible control/format characters),
    at most ``limit``; returns (tokens, notes for the user)."""
    notes = []
    clean = "".join(ch for ch in unicodedata.normalize("NFC", text) if not unicodedata.category(ch).startswith("C"))
    if clean != unicodedata.normalize("NFC", text):
        notes.append("Invisible control or formatting characters were removed.")
    tokens = re.findall(r"\w+|[^\w\s]", clean)
    if len(tokens) > limit:
        notes.append(f"The sentence has {len(tokens)} tokens; only the first {limit} are used (the page's limit).")
        tokens = tokens[:limit]
    return tokens, notes


def word_vectors(tokens: list[str], d: int, seed: int) -> torch.Tensor:
    """(T, d) embeddings: every distinct token gets its own N(0, 1) vector, fixed by (seed, token)."""
    rows = []
    for tok in tokens:
        g = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(tok.encode("utf-8")))
        rows.append(torch.randn(d, generator=g))
    return torch.stack(rows)


@st.cache_resource(max_entries=32, show_spinner=False)
def random_mha(d: int, h: int, seed: int) -> A.MultiHeadAttention:
    return A.MultiHeadAttention(d, h, generator=torch.Generator().manual_seed(seed)).eval()


def mask_for(kind: str, t: int, n_real: int) -> torch.Tensor | None:
    if kind == "causal":
        return A.causal_mask(t)
    if kind == "padding":
        return A.padding_mask(torch.tensor([n_real]), t)[0, 0].expand(t, t)
    return None


@st.cache_data(max_entries=64, show_spinner=False)
def compute(tokens: tuple, source: str, d: int, h: int, seed: int, positions: bool, mask_kind: str,
            n_pads: int, layer: int) -> dict:
    """Every stage of multi-head attention for one sequence, as numpy arrays (heads first)."""
    pads = n_pads if mask_kind == "padding" else 0
    toks = list(tokens) + ["<pad>"] * pads
    t = len(toks)
    if source == "trained":
        model = shipped()
        ids = torch.tensor([TASK.vocab.encode("".join(tokens[:-1]), eos=True) + [PAD] * pads])
        x = model.encode(ids).states[layer - 1]  # (1, T, D) the residual stream entering the block
        mha = model.encoder[layer - 1].attn
    else:
        x = word_vectors(toks, d, seed)[None]  # (1, T, D)
        if positions:
            x = x + A.sinusoidal_encoding(t, d)[None]
        mha = random_mha(d, h, seed)
    mask = mask_for(mask_kind, t, t - pads)
    with torch.no_grad():
        r = mha(x, x, mask)
    np_ = lambda a: a[0].numpy()  # noqa: E731
    return {"tokens": toks, "x": np_(x), "q": np_(r.q), "k": np_(r.k), "v": np_(r.v), "scores": np_(r.steps.scores),
            "scaled": np_(r.steps.scaled), "masked": np_(r.steps.masked), "weights": np_(r.weights),
            "heads": np_(r.heads), "concat": np_(r.concat), "out": np_(r.out), "d_k": mha.d_k,
            "mask": (torch.ones(t, t, dtype=torch.bool) if mask is None else mask).numpy()}


@st.cache_data(max_entries=256, show_spinner=False)
def spec(kind: str, key: tuple, _mat: np.ndarray, rows: tuple, cols: tuple, **kw) -> dict:
    """Cached chart specs, keyed by what is drawn (the matrix itself is derived from ``key``)."""
    if kind == "grid":
        return tc.grid(_mat, list(rows), list(cols), **kw)
    return tc.matrix(_mat, list(rows), list(cols), **kw)


def controls() -> tuple[tuple, str | None]:
    """The calculator's inputs; returns (the compute() arguments, an error message or None)."""
    source = st.radio("Weights", ["random", "trained"], key="tf_source", horizontal=True,
                      format_func={"random": "Random, seeded (words as tokens)",
                                   "trained": "The trained model's encoder (digits as tokens)"}.get)
    notes, error = [], None
    if source == "random":
        c1, c2 = st.columns([3, 1])
        text = c1.text_input("Sentence", key="tf_text", max_chars=400)
        c2.selectbox("Or pick an example", EXAMPLES, index=None, key="tf_example", placeholder="examples",
                     on_change=lambda: st.session_state.update(tf_text=st.session_state.tf_example))
        tokens, notes = tokenize(text)
        c1, c2, c3, c4 = st.columns(4)
        d = c1.select_slider("d_model", [4, 8, 16, 32, 64], key="tf_d")
        heads = [n for n in (1, 2, 4, 8) if d % n == 0 and d // n >= 2]
        if get("tf_heads") not in heads:
            st.session_state.tf_heads = heads[-1]
        h = c2.select_slider("Heads", heads, key="tf_heads")
        seed = int(c3.number_input("Seed", 0, 10_000, key="tf_seed"))
        positions = c4.checkbox("Add positional encoding", key="tf_pos")
        layer = 1
        if not tokens:
            error = "The sentence is empty (or has no visible characters): type a few words."
    else:
        model = shipped()
        text = st.text_input(f"Digits (the model reverses strings of {TASK.min_len}-{TASK.max_len} digits)",
                             key="tf_calc_digits", max_chars=64)
        error = TASK.problem(text)
        tokens = list(text) + ["<eos>"]
        d, h, seed, positions = model.cfg.d_model, model.cfg.n_heads, 0, True
        layer = st.segmented_control("Encoder layer", list(range(1, model.cfg.n_layers + 1)), key="tf_layer",
                                     format_func=lambda n: f"layer {n}") or 1
        st.caption(f"Trained weights: d_model = {d}, {h} heads, d_k = {d // h}. Each token's vector is the "
                   f"residual stream entering encoder layer {layer} (embedding + positions for layer 1).")
    mask_kind = st.segmented_control("Mask", MASKS, key="tf_mask") or "no mask"
    pads = 0
    if mask_kind == "padding":
        pads = st.slider("Padding: this sequence shares a batch with one that is longer by", 1, 8, key="tf_pads",
                         format="%d tokens")
    for note in notes:
        st.warning(note, icon=":material/content_cut:")
    return (tuple(tokens), source, d, h, seed, positions, mask_kind, pads, layer), error


def mask_caption(res: dict, head: int, kind: str) -> str:
    w = res["weights"][head]
    t = w.shape[0]
    upper = w[np.triu_indices(t, 1)]
    blocked = int((~res["mask"]).sum())
    text = (f"**{blocked} of {t * t} scores masked to −∞** ({kind}). Largest weight above the diagonal "
            f"(a query looking at a later key): **{upper.max() if upper.size else 0:.3g}** over {upper.size} cells.")
    if kind == "causal":
        text += " The upper triangle is empty: no token can see the future."
    return text


def query_table(res: dict, head: int, i: int) -> pd.DataFrame:
    m = res["masked"][head, i]
    e = np.where(np.isneginf(m), 0.0, np.exp(m - m[np.isfinite(m)].max()))
    df = pd.DataFrame({"key": tc.labels(res["tokens"]), "q·k": res["scores"][head, i],
                       "÷ √d_k": res["scaled"][head, i], "masked": m, "exp(· − max)": e,
                       "weight": res["weights"][head, i]}).round(4)
    df["masked"] = [("−∞" if np.isneginf(v) else f"{v:.4f}") for v in m]
    return df


def _show(name: str, key: tuple, mat: np.ndarray, rows, cols, width: int, **kw) -> None:
    """One cached heatmap whose cells fit ``width`` pixels (and at most 360 px of height)."""
    cell = int(max(4, min(34, 360 // len(rows), width // (len(cols) + int(kw.get("row_sums", False))))))
    tc.draw(spec("matrix", key + (name,), mat, tuple(rows), tuple(cols), cell=cell, **kw))


def calculator_tab(args: tuple, error: str | None) -> None:
    """Every stage for the chosen head, live numbers for one query, then all heads and the output projection."""
    if error:
        return st.info(error, icon=":material/keyboard:") if "empty" in error else st.error(error, icon=":material/block:")
    res = compute(*args)
    kind, n_heads, d_k, toks = args[6], res["weights"].shape[0], res["d_k"], tc.labels(res["tokens"])
    t, d = len(toks), res["x"].shape[1]
    c1, c2 = st.columns([1, 2])
    head = (c1.segmented_control("Head", list(range(1, n_heads + 1)), key="tf_head") if n_heads > 1 else 1) or 1
    head = min(head, n_heads) - 1
    st.session_state.setdefault(f"tf_query_{t}", min(t - 1, 2))
    i = c2.selectbox("Query token for the live numbers", range(t), format_func=toks.__getitem__, key=f"tf_query_{t}")
    key, dims, dmodel = args + (head,), [f"d{j}" for j in range(d_k)], [f"d{j}" for j in range(d)]
    signed = {"signed": True, "row_title": "token", "col_title": "dimension"}
    st.markdown(f"**1. Token vectors X** ({t} tokens × d_model {d}), then per head **Q = X W^Q_h**, "
                f"**K = X W^K_h**, **V = X W^V_h** ({t} × d_k = {d_k}).")
    _show("x", args, res["x"], toks, dmodel, 640, title="X", **signed)
    for col, name in zip(st.columns(3), ("q", "k", "v")):
        with col:
            _show(name, key, res[name][head], toks, dims, 170, title=f"{name.upper()} (head {head + 1})", **signed)
    st.markdown(f"**2. Scores QKᵀ**, then **scaled by √d_k = √{d_k} = {np.sqrt(d_k):.3f}** so that their spread "
                "does not grow with d_k (which would make the softmax almost one-hot).")
    c1, c2 = st.columns(2)
    with c1:
        _show("scores", key, res["scores"][head], toks, toks, 290, title="QKᵀ", signed=True)
    with c2:
        _show("scaled", key, res["scaled"][head], toks, toks, 290, title="QKᵀ / √d_k", signed=True)
    st.markdown("**3. The mask**: add 0 where a query may look, −∞ where it may not. "
                "`masked_fill(~mask, -inf)` does exactly that.")
    c1, c2 = st.columns(2)
    with c1:
        _show("mask", args, np.where(res["mask"], 0.0, -np.inf), toks, toks, 290, title=f"mask M ({kind})",
              scheme="greys", domain=[0, 1], text_fmt=".0f", text_min_cell=14)
    with c2:
        _show("masked", key, res["masked"][head], toks, toks, 290, title="QKᵀ / √d_k + M", signed=True)
    st.markdown("**4. Softmax over each row**: weights in [0, 1]; −∞ becomes exactly 0; every row sums to 1 "
                "(the Σ column). **5.** Each token's output is the weighted sum of the value vectors.")
    c1, c2 = st.columns(2)
    with c1:
        _show("weights", key, res["weights"][head], toks, toks, 290,
              title=f"softmax weights (head {head + 1})", row_sums=True)
        st.caption(mask_caption(res, head, kind))
    with c2:
        _show("heads", key, res["heads"][head], toks, dims, 290, title="output = weights · V", **signed)
    live_numbers(res, head, i, toks)
    st.markdown(f"**6. All {n_heads} heads**, side by side, then concatenated and mixed by the output "
                "projection: **MultiHead = Concat(head₁, …, head_H) Wᴼ**.")
    tc.draw(spec("grid", args + ("grid",), res["weights"][None], tuple(toks), tuple(toks),
                 title="attention weights of every head", row_title="query", col_title="key",
                 panel=min(300, 760 // n_heads - 10)))
    c1, c2 = st.columns(2)
    with c1:
        _show("concat", args, res["concat"], toks, dmodel, 290, title="Concat(heads)", **signed)
    with c2:
        _show("out", args, res["out"], toks, dmodel, 290, title="Concat(heads) Wᴼ + bᴼ", **signed)
    with st.expander(f"The weights of head {head + 1} as numbers"):
        st.table(pd.DataFrame(res["weights"][head], index=toks, columns=toks).map(lambda v: f"{v:.3f}"))


def live_numbers(res: dict, head: int, i: int, toks: list[str]) -> None:
    w = res["weights"][head, i]
    j = int(w.argmax())
    d_k = res["d_k"]
    m = res["masked"][head, i]
    finite = m[np.isfinite(m)]
    denom = np.exp(finite - finite.max()).sum()
    q, k, v_out = res["q"][head, i], res["k"][head, j], res["heads"][head, i]
    vec = lambda a: ", ".join(f"{x:.2f}" for x in a[:4]) + (", …" if len(a) > 4 else "")  # noqa: E731
    st.markdown(f"**Live numbers for query `{toks[i]}`** (head {head + 1}); its strongest key is `{toks[j]}`:")
    st.latex(rf"q_{{{i}}} \cdot k_{{{j}}} = [{vec(q)}] \cdot [{vec(k)}] = {res['scores'][head, i, j]:.3f}")
    st.latex(rf"\frac{{{res['scores'][head, i, j]:.3f}}}{{\sqrt{{{d_k}}}}} = {res['scaled'][head, i, j]:.3f}"
             rf"\qquad w_{{{i},{j}}} = \frac{{e^{{s_{{{i}{j}}} - \max}}}}{{\sum_{{j'}} e^{{s_{{{i}j'}} - \max}}}}"
             rf"= \frac{{{np.exp(m[j] - finite.max()):.3f}}}{{{denom:.3f}}} = {w[j]:.3f}")
    st.latex(rf"\sum_j w_{{{i},j}} = {w.sum():.4f} \qquad \text{{out}}_{{{i}}} = \sum_j w_{{{i},j}}\, v_j = [{vec(v_out)}]")
    st.dataframe(query_table(res, head, i), hide_index=True, height=min(400, 38 + 35 * len(toks)))
