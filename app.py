"""Deep Learning, Visually: the router. Each topic is one script in pages/."""
import streamlit as st

st.set_page_config(page_title="Deep Learning, Visually", page_icon=":material/neurology:", layout="wide")

pg = st.navigation({
    "Start": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)],
    "Foundations": [st.Page("pages/basics.py", title="PyTorch basics", icon=":material/functions:")],
    "Vision": [
        st.Page("pages/cnn.py", title="CNN: see your digit", icon=":material/draw:"),
        st.Page("pages/gan.py", title="GAN: watch it learn", icon=":material/compare_arrows:"),
        st.Page("pages/diffusion.py", title="Diffusion: noise to digit", icon=":material/blur_on:"),
    ],
    "Sequences": [
        st.Page("pages/rnn.py", title="RNN and LSTM gates", icon=":material/repeat:"),
        st.Page("pages/seq2seq.py", title="Encoder-decoder", icon=":material/swap_horiz:"),
        st.Page("pages/transformer.py", title="Transformer attention", icon=":material/hub:"),
        st.Page("pages/real_attention.py", title="Real model attention", icon=":material/psychology:"),
    ],
})
pg.run()
