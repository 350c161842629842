"""Transformer page: attention taken apart, masks side by side, a trained little encoder-decoder transformer."""
import streamlit as st

from dl_core import attention, transformer
from dl_core.seq_tasks import TASK
from ui import transformer_calc, transformer_masks, transformer_state, transformer_views
from ui import transformer_diagram as diagram
from ui.common import page_start, show_code, sidebar_status
from ui.tabs import lazy_tabs
from ui.transformer_model import card

page_start(
    "Transformer attention, taken apart",
    "Attention lets every token build its new vector as a weighted average of the other tokens' vectors, "
    "with weights from how well its **query** matches their **keys**: softmax(QKᵀ / √d_k) V. Below, every "
    "step is computed by real PyTorch code and drawn as a heatmap (hover for the numbers), first on your own "
    "sentence with random weights, then inside a small encoder-decoder transformer trained to reverse digit "
    "strings, where you can read its attention like a map.",
)
transformer_state.keep()
c = card()
st.caption(f"Trained model: {c['parameters']:,} parameters, exact match **{100 * c['exact_match']:.2f}%** on "
           f"{c['data']['eval_pairs']:,} held-out inputs ({TASK.describe()}).")

TABS = ["Attention step by step", "Masks side by side", "Trained model: all heads", "Decoding step by step",
        "Positional encoding", "The architecture"]
calc, masks, view, dec, pos, arch = lazy_tabs(TABS, "tf_tab", keep="tf_")

if calc.open:
    with calc:
        left, right = st.columns([4, 1])
        with right:
            block = "Decoder masked self-attention" if st.session_state.get("tf_mask") == "causal" \
                else "Encoder self-attention"
            diagram.show(block, caption=f"Highlighted: **{block}**, the block this calculator computes.")
        with left:
            st.markdown("Type a sentence: each word becomes a vector (a random embedding, fixed by the seed, plus "
                        "its position), and one multi-head attention layer with random (seeded) weights runs on "
                        "it. Or switch to the trained model's weights and type digits. Pick a head and a query "
                        "token to follow the numbers through every step.")
            args, error = transformer_calc.controls()
        transformer_calc.calculator_tab(args, error)
        show_code(attention.scaled_dot_product_attention, attention.MultiHeadAttention, attention.causal_mask,
                  attention.padding_mask)

if masks.open:
    with masks:
        transformer_masks.masks_tab()
        show_code(attention.causal_mask, attention.padding_mask, attention.scaled_dot_product_attention)

if view.open:
    with view:
        st.markdown("The shipped transformer reverses a digit string. Type one: the model decodes it greedily, "
                    "then every attention map of that run is drawn, one small heatmap per layer and head. In the "
                    "**cross-attention**, output step t reads input position L-1-t: the anti-diagonal.")
        transformer_views.model_view_tab()
        show_code(transformer.Seq2SeqTransformer, transformer.EncoderBlock, transformer.DecoderBlock)

if dec.open:
    with dec:
        st.markdown("Decoding runs one token at a time: the decoder reads `<bos>` plus what it has written, "
                    "attends to the input, and scores every token of the vocabulary. Step through it; the "
                    "alignment below fills in row by row.")
        transformer_views.decoding_tab()
        show_code(transformer.greedy_steps)

if pos.open:
    with pos:
        transformer_views.positions_tab()
        show_code(attention.sinusoidal_encoding, transformer.Seq2SeqTransformer.embed_tokens)

if arch.open:
    with arch:
        st.markdown("The course's encoder-decoder transformer (Vaswani et al. 2017, figure 1). Each tab of this "
                    "page highlights the block it shows; here you can pick any block.")
        transformer_views.architecture_tab()
        show_code(transformer.TransformerConfig, transformer.Seq2SeqTransformer.encode,
                  transformer.Seq2SeqTransformer.decode)

sidebar_status()
