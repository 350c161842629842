"""Encoder-decoder page: squeeze a sequence into a context vector, then unfold it (and the same for images)."""
import streamlit as st

from dl_core import autoencoder as ae
from dl_core import seq2seq as s2s
from ui import charts, seq2seq_images, seq2seq_views
from ui import seq2seq_charts as sc
from ui import seq2seq_models as sm
from ui.common import page_start, show_code, sidebar_status

page_start(
    "Encoder-decoder",
    "An **encoder** reads the whole input and compresses it; a **decoder** generates the output from that "
    "summary, one token at a time. Here two real GRU encoder-decoders reverse a string of digits "
    "(`31415` -> `51413`), the same task as the transformer page. The plain one must squeeze everything into "
    "one **context vector**; the other uses **attention** (Bahdanau et al. 2015) to look back at every input "
    "step. Last tab: the same idea for images, a convolutional autoencoder.",
)

seq_tab, bottle_tab, img_tab = st.tabs(["Sequence to sequence", "The bottleneck, measured", "Images: an autoencoder"])

with seq_tab:
    variant, text = seq2seq_views.input_panel()
    if text is not None:
        res = sm.decode(variant, text)
        seq2seq_views.encoder_section(res, variant)
        st.markdown("**Decoder**, step by step: from `<bos>` it picks the most likely next token, feeds it back "
                    "in and repeats until `<eos>`. Drag the slider to replay the steps"
                    + (": the alignment heatmap fills in row by row." if variant == "attention" else "."))
        seq2seq_views.decoding_section(res, variant)
        beam_tab, whatif_tab = st.tabs(["Greedy vs beam search", "What if? Force a token"])
        with beam_tab:
            seq2seq_views.beam_section(variant, text, res)
        with whatif_tab:
            seq2seq_views.whatif_section(variant, text, res)
    show_code(s2s.Seq2Seq.encode, s2s.Seq2Seq.attend, s2s.Seq2Seq.step, s2s.decode_steps, s2s.beam_search)

with bottle_tab:
    st.markdown("Exact match (every digit right, nothing extra) against input length, measured now on fresh "
                "held-out inputs (100 per length) with the shipped models. The plain model has to fit the whole "
                "input into one vector of fixed size, so it fails more the longer the input gets; the attention "
                "model reads what it needs at every step, which is why attention was invented. The transformer's "
                "numbers come from its model card.")
    with st.spinner("Decoding 1,400 held-out inputs with each model..."):
        df = sm.accuracy_by_length()
    charts.show(sc.length_vl(df))
    at16 = df[df["input length"] == 16].set_index("model")["exact match"]
    st.caption("At 16 digits: " + "; ".join(f"{m}: **{100 * a:.0f}%**" for m, a in at16.items()) + ".")
    st.page_link("pages/transformer.py", label="The transformer on the same task", icon=":material/arrow_forward:")

with img_tab:
    seq2seq_images.tab()
    show_code(ae.ConvAutoencoder, ae.interpolate)

sidebar_status()
