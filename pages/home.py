"""Home: what each page teaches, with links."""
from pathlib import Path

import streamlit as st

from ui.common import page_start, sidebar_status

page_start(
    "Deep Learning, Visually",
    "Poke real PyTorch models and watch what happens inside them. Every page runs the actual model "
    "on the server, shows the PyTorch code next to the picture, and answers at once.",
)

PAGES = [
    ("pages/cnn.py", "CNN: see your digit",
     "Draw a digit and watch a convolutional network read it: MNIST-style preprocessing, filters, "
     "feature maps after every conv / ReLU / pooling step, class probabilities, a saliency map, a kernel "
     "playground, and training the course's CNN yourself."),
    ("pages/basics.py", "PyTorch basics",
     "Tensors, dtypes and broadcasting; autograd on an expression you type; nn.Module; losses, "
     "optimizers and a TensorFlow-Playground-style trainer."),
    ("pages/rnn.py", "RNN and LSTM gates",
     "Type a sequence and watch every gate of an LSTM open and close; see why a plain RNN forgets."),
    ("pages/gan.py", "GAN: watch it learn",
     "A generator and a discriminator trained against each other, live, in 2-D and on digits."),
    ("pages/diffusion.py", "Diffusion: noise to digit",
     "Noise your own digit step by step, then sample a digit from pure noise with DDPM and DDIM."),
    ("pages/transformer.py", "Transformer attention",
     "Q, K, V, the scaling, the masks and the softmax, step by step, on a little trained transformer."),
    ("pages/real_attention.py", "Real model attention",
     "What a real language model attends to: SmolLM2-135M (decoder) and MiniLM-L6 (encoder) on your text, "
     "head view, model view, the numbers of one head, and next-token sampling. Needs the optional extra."),
    ("pages/seq2seq.py", "Encoder-decoder",
     "Squeeze a sequence into a context vector and unfold it; see why attention was invented."),
]

ROOT = Path(__file__).resolve().parent.parent


@st.cache_data
def is_placeholder(path: str) -> bool:
    return "from ui.common import placeholder" in (ROOT / path).read_text().splitlines()


for path, title, text in PAGES:
    ready = not is_placeholder(path)
    with st.container(border=True):
        st.page_link(path, label=f"**{title}**" + ("" if ready else "  (coming soon)"))
        st.markdown(text)

sidebar_status()
