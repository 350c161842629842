"""The shape explorer: nn.RNN / nn.GRU / nn.LSTM with any arguments, shapes read off a real run."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from dl_core import rnn

# The course's six cases: (kind, input, hidden, layers, batch_first, bidirectional, seq, batch)
PRESETS = {
    "1. RNN(10, 5, 1), seq 12 x batch 64": ("rnn", 10, 5, 1, False, False, 12, 64),
    "2. RNN(10, 5, 2): two stacked layers": ("rnn", 10, 5, 2, False, False, 12, 64),
    "3. RNN(10, 5, 1, batch_first=True)": ("rnn", 10, 5, 1, True, False, 12, 64),
    "4. RNN(10, 5, 1, bidirectional=True)": ("rnn", 10, 5, 1, False, True, 12, 64),
    "5. LSTM(10, 5, 1): a cell state too": ("lstm", 10, 5, 1, False, False, 12, 64),
    "6. LSTM(10, 5, 2, bidirectional=True)": ("lstm", 10, 5, 2, False, True, 12, 64),
}
FIELDS = ("kind", "input", "hidden", "layers", "batch_first", "bidirectional", "seq", "batch")


def _apply_preset() -> None:
    for field, value in zip(FIELDS, PRESETS[st.session_state["rnn_shape_preset"]]):
        st.session_state[f"rnn_shape_{field}"] = value


@st.cache_data(max_entries=128, show_spinner=False)
def _shapes(*args) -> rnn.Shapes:
    return rnn.module_shapes(*args)


def tab() -> None:
    st.markdown("Pick the arguments of a PyTorch recurrent module; it is built and **run** on random input, "
                "and every shape below is read off the real tensors. `h0`/`h_n` are never batch-first.")
    if "rnn_shape_kind" not in st.session_state:
        st.session_state["rnn_shape_preset"] = next(iter(PRESETS))
        _apply_preset()
    st.selectbox("Preset (the course's six cases)", list(PRESETS), key="rnn_shape_preset", on_change=_apply_preset)
    c = st.columns(4)
    kind = c[0].selectbox("Module", ["rnn", "gru", "lstm"], key="rnn_shape_kind", format_func=lambda k: f"nn.{k.upper()}")
    inp = c[1].number_input("input_size", 1, 128, key="rnn_shape_input")
    hid = c[2].number_input("hidden_size", 1, 128, key="rnn_shape_hidden")
    layers = c[3].number_input("num_layers", 1, 4, key="rnn_shape_layers")
    c = st.columns(4)
    seq = c[0].number_input("sequence length", 1, 100, key="rnn_shape_seq")
    batch = c[1].number_input("batch", 1, 128, key="rnn_shape_batch")
    bf = c[2].checkbox("batch_first", key="rnn_shape_batch_first")
    bi = c[3].checkbox("bidirectional", key="rnn_shape_bidirectional")
    s = _shapes(kind, int(inp), int(hid), int(layers), bool(bf), bool(bi), int(seq), int(batch))
    dirs = 2 if bi else 1
    order = "(batch, seq, {})" if bf else "(seq, batch, {})"
    rows = [("input x", s.input, order.format("input_size")),
            ("h0", s.h0, "(num_layers * directions, batch, hidden_size)"),
            ("c0", s.c0, "same as h0 (LSTM only)"),
            ("output", s.output, order.format("directions * hidden_size") + ": the top layer's h at every step"),
            ("h_n", s.h_n, "(num_layers * directions, batch, hidden_size): every layer's last h"),
            ("c_n", s.c_n, "same as h_n (LSTM only)")]
    df = pd.DataFrame([(n, str(tuple(v)), why) for n, v, why in rows if v is not None],
                      columns=["tensor", "shape (from the real run)", "why"])
    st.dataframe(df, hide_index=True, width="stretch")
    st.caption(f"{s.params:,} parameters: {dirs} direction(s) x {layers} layer(s), each with "
               f"W_ih, W_hh, b_ih, b_hh of {dict(rnn=1, gru=3, lstm=4)[kind]} gate block(s).")
    if bf:
        x0 = f"torch.randn({batch}, {seq}, {inp})  # (batch, seq, input)"
    else:
        x0 = f"torch.randn({seq}, {batch}, {inp})  # (seq, batch, input)"
    h0 = f"torch.zeros({layers * dirs}, {batch}, {hid})"
    state, outs = ("(h0, c0)", "out, (h_n, c_n)") if kind == "lstm" else ("h0", "out, h_n")
    code = (f"import torch, torch.nn as nn\n\nmodel = nn.{kind.upper()}({inp}, {hid}, num_layers={layers}, "
            f"batch_first={bf}, bidirectional={bi})\nx = {x0}\nh0 = {h0}  # (layers * directions, batch, hidden)\n"
            + (f"c0 = {h0}\n" if kind == "lstm" else "") + f"{outs} = model(x, {state})\n"
            f"print(out.shape)  # {tuple(s.output)}\nprint(h_n.shape)  # {tuple(s.h_n)}\n"
            + (f"print(c_n.shape)  # {tuple(s.c_n)}\n" if kind == "lstm" else ""))
    st.code(code, language="python")
