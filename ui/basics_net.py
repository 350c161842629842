"""nn.Module as the course notebook wrote it: ``class Net(nn.Module)`` with ``forward``, run on your digit."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
import torch

from dl_core import cnn, digits
from ui.common import _source as source  # the real source, read with inspect under a lock
from ui import my_digit
from ui.models import shipped_cnn



@st.cache_data(show_spinner=False)
def _default_digit() -> np.ndarray:
    return digits.prepare(digits.render_digit(3, stroke=4)).centred


def digit_for_net() -> tuple[np.ndarray, str]:
    """(centred 28x28 digit, where it came from): the CNN page's last input, or a font 3."""
    mine = my_digit.get()
    if mine is not None:
        return mine, "your digit from the CNN page"
    return _default_digit(), "a font-rendered 3 (draw your own on the CNN page and it appears here)"


@st.cache_data(max_entries=64, show_spinner=False)
def _run(centred: np.ndarray) -> tuple[list[dict], list[float]]:
    """Each stage's name and output shape, and the class probabilities, for the shipped notebook Net."""
    model = shipped_cnn("course")
    x = torch.from_numpy((centred - digits.MEAN) / digits.STD).float().view(1, 1, 28, 28)
    with torch.no_grad():
        stages = cnn.trace(model, x)
    rows = [{"step": s.name, "output shape": str(tuple(s.out.shape)), "parameters": s.params} for s in stages]
    return rows, torch.softmax(stages[-1].out[0], 0).tolist()


def section() -> None:
    st.subheader("The notebook's `Net`")
    st.markdown("The course notebook defines its model as a class: layers with parameters are created in "
                "`__init__`, and `forward` says how data flows through them. PyTorch calls `forward` when you "
                "call `model(x)`. Below is the real class this app trains and ships, run on a digit.")
    model = shipped_cnn("course")
    left, right = st.columns(2)
    with left:
        st.code(source(cnn.Net)[1], language="python")
    with right:
        st.markdown("`print(model)`")
        st.code(str(model), language=None)
        params = pd.DataFrame([{"name": n, "shape": str(tuple(p.shape)), "numel": p.numel()}
                               for n, p in model.named_parameters()])
        st.dataframe(params, hide_index=True, width="stretch")
        st.caption(f"{int(params['numel'].sum()):,} parameters in all.")
    centred, origin = digit_for_net()
    rows, probs = _run(centred)
    c1, c2 = st.columns([1, 3])
    c1.image((centred * 255).astype(np.uint8), width=112, caption="x (28x28)")
    c1.metric("model(x) says", str(int(np.argmax(probs))), f"softmax {100 * max(probs):.1f}%", delta_color="off",
              delta_arrow="off")
    with c2:
        st.caption(f"`model(x)` on {origin}: the shape after every line of `forward`.")
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=35 * (len(rows) + 1) + 3)
