"""Widget state of the transformer page. Its tabs run lazily (only the open tab's code runs), and
Streamlit forgets the value of a widget that was not drawn in a run; so every ``tf_*`` value is kept
across runs here, and tabs read each other's settings through ``get``."""
from __future__ import annotations

import streamlit as st

PREFIX = "tf_"
DEFAULTS = {
    "tf_text": "the cat sat on the mat because it was tired",
    "tf_text_b": "a short one",
    "tf_source": "random",
    "tf_d": 16,
    "tf_heads": 2,
    "tf_seed": 0,
    "tf_pos": True,
    "tf_mask": "no mask",
    "tf_pads": 3,
    "tf_head": 1,
    "tf_layer": 1,
    "tf_calc_digits": "8675309",
    "tf_change_word": "zebra",
    "tf_digits": "31415926",
    "tf_temp": 1.0,
    "tf_dec_mode": "greedy",
    "tf_dec_seed": 0,
    "tf_view_kind": "Cross-attention",
    "tf_big_layer": 2,
    "tf_big_head": 1,
    "tf_pe_len": 40,
    "tf_pe_d": 64,
    "tf_block": "Cross-attention",
}
TRANSIENT = ("tf_tab",)  # managed by Streamlit itself; chart selections use the "tfsel_" prefix (read-only)


def keep() -> None:
    """Re-assign every tf_ widget value so that Streamlit keeps it while its tab is closed; fill defaults."""
    for key in list(st.session_state):
        if isinstance(key, str) and key.startswith(PREFIX) and key not in TRANSIENT:
            st.session_state[key] = st.session_state[key]
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)


def get(key: str):
    return st.session_state.get(key, DEFAULTS.get(key))

