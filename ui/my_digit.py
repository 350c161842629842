""""My digit" travels: the digit last drawn, typed or uploaded on the CNN page, offered on other pages
(the notebook's Net, diffusion's forward process, the autoencoder) without drawing it again."""
from __future__ import annotations

import numpy as np
import streamlit as st

KEY = "my_digit"  # session key: the (28, 28) centred digit in [0, 1] from the CNN page
LABEL = "My digit (CNN page)"


def remember(centred: np.ndarray) -> None:
    """Called by the CNN page with the digit it just analysed (this session only)."""
    st.session_state[KEY] = np.asarray(centred, dtype=np.float32)


def get() -> np.ndarray | None:
    return st.session_state.get(KEY)


def sources(*others: str) -> list[str]:
    """The input choices of a page: "My digit" first when the CNN page has one, then ``others``."""
    return ([LABEL] if get() is not None else []) + list(others)
