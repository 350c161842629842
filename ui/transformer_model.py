"""The shipped digit-reversing transformer: cached loading and cached computations (numpy out)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st
import torch

from dl_core import transformer as tf
from dl_core.attention import sinusoidal_encoding
from dl_core.cards import read_card
from dl_core.seq_tasks import TASK

ASSETS = Path(__file__).resolve().parent.parent / "assets"
NAME = "transformer"


@st.cache_resource(show_spinner="Loading the shipped transformer ...")
def shipped() -> tf.Seq2SeqTransformer:
    """Loaded once per process on the CPU (tiny model, one sequence at a time), shared read-only."""
    model = tf.load(ASSETS / f"{NAME}.pt", torch.device("cpu"))
    for p in model.parameters():
        p.requires_grad_(False)
    return model


@st.cache_data
def card() -> dict:
    return read_card(NAME)


@st.cache_data(max_entries=256, show_spinner=False)
def analyse(text: str, use_positions: bool = True) -> dict:
    """Greedy output for ``text``, then one teacher-forced pass over that output for every attention map."""
    model = shipped()
    src = TASK.encode_source(text)
    out_ids = tf.greedy_batch(model, src[None], TASK.max_len + 2, use_positions)[0].tolist()
    output = TASK.vocab.decode(out_ids)
    tgt_in = torch.tensor([TASK.vocab.encode(output, bos=True)])
    with torch.no_grad():
        res = model(src[None], tgt_in, use_positions)
    return {"output": output, "src": list(text) + ["<eos>"], "tgt_in": ["<bos>"] + list(output),
            "enc": res.enc_attn[:, 0].numpy(), "self": res.self_attn[:, 0].numpy(),
            "cross": res.cross_attn[:, 0].numpy()}


@st.cache_data(max_entries=256, show_spinner=False)
def decode(text: str, temperature: float, sample: bool, seed: int) -> list[dict]:
    """Every step of greedy (or sampled) decoding, as plain numpy."""
    model = shipped()
    gen = torch.Generator().manual_seed(seed)
    steps = tf.greedy_steps(model, TASK.encode_source(text), TASK.max_len + 2, temperature, sample, gen)
    return [{"index": s.index, "token": s.token, "probs": s.probs.numpy(), "cross": s.cross.numpy(),
             "prefix": [TASK.vocab.token(i) for i in s.prefix]} for s in steps]


@st.cache_data(max_entries=32, show_spinner=False)
def positions(n: int, d: int) -> dict:
    pe = sinusoidal_encoding(n, d).numpy()
    unit = pe / np.linalg.norm(pe, axis=1, keepdims=True)
    return {"pe": pe, "cos": unit @ unit.T, "dot": pe @ pe.T}


def _sync(key: str) -> None:
    st.session_state["tf_digits"] = st.session_state[key]


def digits_input(key: str, label: str = "Digits to reverse") -> tuple[str, str | None]:
    """The digit input of the trained-model tabs. Each tab has its own widget (``key``); they share one
    value, ``tf_digits``. Returns (usable text, error message or None); over-long input is truncated."""
    st.session_state[key] = st.session_state.get("tf_digits", "")
    st.text_input(label, key=key, max_chars=80, on_change=_sync, args=(key,),
                  help=f"{TASK.min_len} to {TASK.max_len} digits; the model was trained to reverse them.")
    text = st.session_state[key].strip()
    if len(text) > TASK.max_len and text.isascii() and text.isdigit():
        st.warning(f"The input has {len(text)} digits; only the first {TASK.max_len} are used "
                   "(the longest strings the model was trained on).", icon=":material/content_cut:")
        text = text[:TASK.max_len]
    problem = TASK.problem(text)
    if problem is None and len(text) < TASK.min_len:
        st.warning(f"The model was trained on {TASK.min_len}-{TASK.max_len} digits; shorter inputs may fail.")
    return text, problem
