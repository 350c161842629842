"""The transformer page's "Masks side by side" tab: a batch of two sentences under no mask, the causal
mask and the padding mask; and the "change a later token" demonstration of causal invariance."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
import torch

from dl_core import attention as A
from ui import transformer_charts as tc
from ui.plain import md
from ui.transformer_calc import random_mha, tokenize, word_vectors
from ui.transformer_state import get

KINDS = ["no mask", "causal", "padding"]


def _inputs(tokens: list[str], d: int, seed: int, positions: bool) -> torch.Tensor:
    x = word_vectors(tokens, d, seed)
    return x + A.sinusoidal_encoding(len(tokens), d) if positions else x


@st.cache_data(max_entries=64, show_spinner=False)
def batch_panels(a: tuple, b: tuple, d: int, h: int, seed: int, positions: bool, head: int) -> dict:
    """Both sentences padded to one length, through the same attention under each mask: a chart spec."""
    t = max(len(a), len(b))
    seqs = [list(a) + ["<pad>"] * (t - len(a)), list(b) + ["<pad>"] * (t - len(b))]
    x = torch.stack([_inputs(s, d, seed, positions) for s in seqs])  # (2, T, D)
    lengths = torch.tensor([len(a), len(b)])
    masks = {"no mask": None, "causal": A.causal_mask(t), "padding": A.padding_mask(lengths, t)}
    mha = random_mha(d, h, seed)
    frames, leaked = [], {}
    for kind, mask in masks.items():
        with torch.no_grad():
            r = mha(x, x, mask)
        w = r.weights[:, head].numpy()  # (2, T, T)
        shown = np.where(np.isneginf(r.steps.masked[:, head].numpy()), -np.inf, w)
        for s in range(2):
            n = len((a, b)[s])
            leaked[(kind, s)] = float(w[s, :n, n:].sum(1).max()) if n < t else 0.0
            qq, kk = np.meshgrid(np.arange(t), np.arange(t), indexing="ij")
            frames.append(pd.DataFrame({
                "mask": kind, "sequence": f"sentence {'AB'[s]} ({n} tokens)", "q": qq.ravel(), "k": kk.ravel(),
                "query": np.array(tc.labels(seqs[s]))[qq.ravel()], "key": np.array(tc.labels(seqs[s]))[kk.ravel()],
                "weight": np.where(np.isneginf(shown[s].ravel()), np.nan, np.round(shown[s].ravel(), 4)),
                "value": [tc.MASKED if np.isneginf(v) else f"{v:.3f}" for v in shown[s].ravel()]}))
    df = pd.concat(frames, ignore_index=True)
    cell = tc.cell_size(t, 250, 5, 22)
    base = alt.Chart().encode(x=alt.X("k:O", title="key"), y=alt.Y("q:O", title="query"), tooltip=[
        "sequence:N", "mask:N", "query:N", "key:N", alt.Tooltip("value:N", title="weight")])
    valid = base.transform_filter("isValid(datum.weight)").mark_rect().encode(
        color=alt.Color("weight:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), legend=alt.Legend(title="weight")))
    blocked = base.transform_filter("!isValid(datum.weight)").mark_rect(color="#d0d0d0")
    chart = alt.layer(valid, blocked, data=tc.DATA).properties(width=cell * t, height=cell * t).facet(
        row=alt.Row("sequence:N", title=None), column=alt.Column("mask:N", sort=KINDS, title=None), spacing=10)
    return {"spec": tc.spec(chart.configure_view(strokeWidth=0), df, tc.PAD), "leaked": leaked, "t": t}


@st.cache_data(max_entries=64, show_spinner=False)
def invariance(tokens: tuple, j: int, new: str, d: int, h: int, seed: int, positions: bool) -> pd.DataFrame:
    """Replace token j and compare every position's attention output, with and without the causal mask."""
    changed = list(tokens)
    changed[j] = new
    x, x2 = _inputs(list(tokens), d, seed, positions)[None], _inputs(changed, d, seed, positions)[None]
    mha, t = random_mha(d, h, seed), len(tokens)
    rows = []
    for kind, mask in (("causal", A.causal_mask(t)), ("no mask", None)):
        with torch.no_grad():
            o1, o2 = mha(x, x, mask).out[0], mha(x2, x2, mask).out[0]  # (T, D)
        for i in range(t):
            rows.append({"position": f"{i} {tokens[i]}", "i": i, "mask": kind,
                         "max |Δ output|": float((o1[i] - o2[i]).abs().max()), "identical": bool(torch.equal(o1[i], o2[i]))})
    return pd.DataFrame(rows)


def masks_tab() -> None:
    tokens, _ = tokenize(get("tf_text"))
    d, h, seed, positions = int(get("tf_d")), int(get("tf_heads")), int(get("tf_seed")), bool(get("tf_pos"))
    st.markdown("A **causal mask** stops a token from looking at later tokens (a decoder must not peek at the "
                "answer it is writing). A **padding mask** stops every token from looking at the `<pad>` tokens "
                "that make the shorter sentence of a batch as long as the longest. They solve different problems; "
                "a decoder in a batch uses both. Gray cells: score set to −∞, weight exactly 0.")
    text_b = st.text_input("Sentence B (batched with the calculator's sentence A)", key="tf_text_b", max_chars=400)
    tokens_b, notes = tokenize(text_b)
    for note in notes:
        st.warning(note, icon=":material/content_cut:")
    if not tokens or not tokens_b:
        return st.info("Both sentences need at least one word (sentence A is typed in the calculator tab).",
                       icon=":material/keyboard:")
    head = min(int(get("tf_head") or 1), h) - 1
    res = batch_panels(tuple(tokens), tuple(tokens_b), d, h, seed, positions, head)
    tc.draw(res["spec"])
    short = int(len(tokens_b) < len(tokens))
    if len(tokens) != len(tokens_b):
        n = (len(tokens), len(tokens_b))[short]
        st.caption(f"Sentence {'AB'[short]} is padded with {res['t'] - n} `<pad>` tokens. Its real tokens give up to "
                   f"**{100 * res['leaked'][('no mask', short)]:.0f}%** of their attention to padding without a "
                   f"mask, **{100 * res['leaked'][('padding', short)]:.0f}%** with the padding mask. "
                   f"(Random weights, d_model {d}, head {head + 1} of {h}: set them in the calculator tab.)")
    st.subheader("Change a later token")
    if len(tokens) < 2:
        return st.info("Type at least two words in the calculator tab to try this.", icon=":material/keyboard:")
    c1, c2 = st.columns(2)
    st.session_state.setdefault(f"tf_change_pos_{len(tokens)}", len(tokens) // 2)
    j = c1.slider("Change the token at position", 1, len(tokens) - 1, key=f"tf_change_pos_{len(tokens)}")
    new = c2.text_input("to", key="tf_change_word", max_chars=40).strip() or "zebra"
    df = invariance(tuple(tokens), j, new, d, h, seed, positions)
    causal = df[df["mask"] == "causal"]
    same = bool(causal[causal["i"] < j]["identical"].all())
    if same:
        st.success(f"Causal mask: the outputs of positions 0 to {j - 1} are **identical, bit for bit** "
                   f"(`torch.equal`), after replacing {md(tokens[j])} with {md(new)}: earlier tokens never see it.",
                   icon=":material/check_circle:")
    else:
        st.error("Earlier outputs changed under the causal mask: that would be a bug.")
    moved = df[(df["mask"] == "no mask") & (df["i"] < j)]["max |Δ output|"].max()
    st.caption(f"Without a mask every position looks at {md(new)}, so even position 0 changes (up to {moved:.3g}).")
    tc.draw(tc.delta_bars(df, "largest change of each position's attention output"))
