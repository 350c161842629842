"""Real model attention: a pretrained decoder (SmolLM2-135M) and encoder (MiniLM-L6) on your own text."""
import streamlit as st

from dl_core import real_attention as ra
from dl_core import real_sampling as rs
from ui import real_attention_models as rm
from ui import real_attention_views as views
from ui.common import page_start, show_code, sidebar_status
from ui.transformer_model import card

page_start(
    "Real model attention",
    "The transformer page took attention apart on a 169 k-parameter toy. Here are two real pretrained "
    "models, run on your own text on the server's CPU: **SmolLM2-135M**, a decoder that predicts the next "
    "token (causal attention), and **MiniLM-L6**, a BERT-style encoder (bidirectional). Every line, tile "
    "and number below is the model's own attention weight, softmax(q·kᵀ/√d + mask), for one layer and head.",
)

if rm.available():
    TABS = ["Your text, its attention", "Causal vs bidirectional", "Next token", "Scale"]
    mine, both, nxt, scale = st.tabs(TABS, key="ra_tab", on_change="rerun")
    if mine.open:
        with mine:
            views.attention_tab()
            show_code(ra.forward, ra.drill, ra.tokenize)
    if both.open:
        with both:
            views.compare_tab()
            show_code(ra.load_decoder, ra.load_encoder, ra.convert_gguf)
    if nxt.open:
        with nxt:
            st.markdown("The decoder's last position scores all 49,152 tokens of its vocabulary. Temperature "
                        "sharpens (< 1) or flattens (> 1) the softmax; top-k keeps the k most likely tokens, "
                        "top-p the smallest set whose probability reaches p. Then one token is drawn.")
            views.next_token_tab()
            show_code(rs.next_token_probs, rs.generate)
    if scale.open:
        with scale:
            views.scale_tab(card())
            show_code(ra.kv_head, ra.kv_groups, ra.RealLM)

sidebar_status()
