"""Cached loaders shared by every session: shipped CNNs, their model cards, the MNIST splits."""
from __future__ import annotations

from pathlib import Path

import streamlit as st
import torch.nn as nn

from dl_core import cnn, data
from dl_core.cards import read_card
from ui.common import device

ASSETS = Path(__file__).resolve().parent.parent / "assets"
# The course's own net comes first: it is the page's default (the notebook's Net, no batch norm)
CNN_NAMES = {"course": "Course CNN (the notebook's Net, 21,840 params)", "default": "Stronger CNN (VGG-style, 468k params)"}


@st.cache_resource(show_spinner="Loading the shipped CNN ...")
def shipped_cnn(arch: str) -> nn.Module:
    """Loaded once per process, in eval mode, shared read-only by every session."""
    model = cnn.load(ASSETS / f"cnn_{arch}.pt", device())
    for p in model.parameters():
        p.requires_grad_(False)
    return model


@st.cache_data
def model_card(name: str) -> dict:
    return read_card(name)


@st.cache_resource(show_spinner=False)
def _mnist_split(train: bool, folder: str) -> data.Split:
    return data.load_split(train, Path(folder))


def mnist(train: bool) -> data.Split | None:
    """The split, downloading it (with a progress bar) when missing; None plus a message when impossible."""
    folder = data.default_dir()
    if data.missing_files(folder):
        bar = st.progress(0.0, text=f"Downloading MNIST into {folder} ...")

        def progress(name: str, done: int, total: int) -> None:
            bar.progress(min(done / total, 1.0) if total else 0.0, text=f"Downloading {name}: {done / 1e6:.1f} MB")

        try:
            data.download(folder, progress=progress)
        except data.MnistMissing as err:
            bar.empty()
            st.error(f"**MNIST is not available.** {err}", icon=":material/cloud_off:")
            return None
        bar.empty()
    try:
        return _mnist_split(train, str(folder))
    except (ValueError, OSError) as err:
        st.error(f"**The MNIST files in {folder.resolve()} could not be read:** {err}")
        return None
