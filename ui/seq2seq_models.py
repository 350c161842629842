"""Shipped encoder-decoder models and the cached computations the encoder-decoder page draws."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st
import torch

from dl_core import autoencoder as ae
from dl_core import seq2seq as s2s
from dl_core.cards import read_card
from dl_core.seq_tasks import EOS, TASK
from ui.common import device

ASSETS = Path(__file__).resolve().parent.parent / "assets"
VARIANTS = {"attention": "GRU with additive attention", "plain": "GRU, context vector only"}
MAX_OUT = TASK.max_len + 2  # decoding stops here even without <eos>


@st.cache_resource
def shipped(variant: str) -> s2s.Seq2Seq:
    return s2s.load(ASSETS / f"seq2seq_{variant}.pt", device())


@st.cache_resource
def autoencoder() -> ae.ConvAutoencoder:
    return ae.load(ASSETS / "autoencoder.pt", torch.device("cpu"))


@st.cache_data
def card(name: str) -> dict:
    return read_card(name)


@st.cache_data(max_entries=512)
def decode(variant: str, text: str, force_step: int = -1, force_token: int = -1) -> dict:
    """Encoder states, the context vector and every greedy decoding step for one input (numpy)."""
    model = shipped(variant)
    src = TASK.encode_source(text, device())
    enc = model.encode(src[None])
    force = {force_step: force_token} if force_step >= 0 else None
    steps = list(s2s.decode_steps(model, src, MAX_OUT, force))
    attn = None if steps[0].attn is None else np.stack([s.attn.cpu().numpy() for s in steps])
    return {
        "src_tokens": [TASK.vocab.token(i) for i in src.tolist()],
        "enc_states": enc.states[0].detach().cpu().numpy(),  # (S, E)
        "context": enc.context[0].detach().cpu().numpy(),  # (E,)
        "dec_states": np.stack([s.state.cpu().numpy() for s in steps]),  # (T, H)
        "probs": np.stack([s.probs.cpu().numpy() for s in steps]),  # (T, V)
        "tokens": [s.token for s in steps],
        "forced": [s.forced for s in steps],
        "attn": attn,  # (T, S) or None
        "output": TASK.vocab.decode([s.token for s in steps]),
        "ended": steps[-1].token == EOS,
    }


@st.cache_data(max_entries=256)
def beam(variant: str, text: str, width: int) -> dict:
    """The beam tree as Graphviz DOT plus the final hypotheses (text, score)."""
    res = s2s.beam_search(shipped(variant), TASK.encode_source(text, device()), width, MAX_OUT, show=1)
    best = set()
    if res.finals:
        leaf = res.finals[0][2]
        while leaf != -1:
            best.add(leaf)
            leaf = res.nodes[leaf].parent
    final_ids = {f[2] for f in res.finals}
    lines = ["digraph beam {", 'rankdir=LR; nodesep=0.08; ranksep=0.25;',
             'node [shape=box, style="rounded,filled", fontname=Helvetica, fontsize=10, height=0.25, margin="0.05,0.02"];',
             "edge [arrowsize=0.4];"]
    for n in res.nodes:
        tok = TASK.vocab.token(n.token).replace("<", "&lt;").replace(">", "&gt;")
        fill = "#e4572e" if n.id in best else ("#f6c7b6" if n.id in final_ids else ("#dbe6f3" if n.kept else "#f2f2f2"))
        font = "white" if n.id in best else ("black" if n.kept else "gray55")
        style = '"rounded,filled"' if n.kept else '"rounded,filled,dashed"'
        label = f"<{tok}<br/><font point-size='8'>{n.score:.2f}</font>>" if n.parent != -1 else f"<{tok}>"
        lines.append(f'n{n.id} [label={label}, fillcolor="{fill}", fontcolor="{font}", style={style}];')
        if n.parent != -1:
            lines.append(f'n{n.parent} -> n{n.id} [color="{"#e4572e" if n.id in best else "gray60"}"];')
    lines.append("}")
    finals = pd.DataFrame({"output": [TASK.vocab.decode(t) for t, _, _ in res.finals],
                           "log-probability": [round(s, 4) for _, s, _ in res.finals],
                           "probability": [float(np.exp(s)) for _, s, _ in res.finals]})
    finals["correct"] = finals["output"] == TASK.target(text)
    return {"dot": "\n".join(lines), "finals": finals, "nodes": len(res.nodes)}


@st.cache_data
def accuracy_by_length(n: int = 100, seed: int = 20_000) -> pd.DataFrame:
    """Exact match per input length for both shipped models on ``n`` fresh held-out inputs per length."""
    from dl_core.recipes.seq2seq import by_length

    rows = []
    for variant, label in VARIANTS.items():
        for length, acc in by_length(shipped(variant), n, seed, device()).items():
            rows.append({"model": label, "input length": length, "exact match": acc})
    tf = card("transformer").get("exact_match_by_length", {})
    for length, acc in tf.items():
        rows.append({"model": "transformer (from its model card)", "input length": int(length), "exact match": acc})
    return pd.DataFrame(rows)


@st.cache_data
def latents() -> tuple[np.ndarray, np.ndarray]:
    with np.load(ASSETS / "autoencoder_latents.npz") as f:
        return f["z"].astype(np.float32), f["labels"]
