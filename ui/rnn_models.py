"""Cached loaders and analyses for the RNN page: shipped sequence models, their cards, every step's numbers."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from dl_core import rnn, rnn_tasks
from dl_core.cards import read_card
from dl_core.rnn_train import heldout, unit_scores
from ui.common import device

ASSETS = Path(__file__).resolve().parent.parent / "assets"
CELL_NAMES = {"lstm": "LSTM", "gru": "GRU", "rnn": "plain RNN"}
SHIPPED = {"brackets": ("lstm", "rnn"), "remember": ("lstm", "gru", "rnn"), "sine": ("lstm", "rnn")}
PROBE = {"brackets": "depth", "remember": "key", "sine": "input value"}


@contextmanager
def one_thread():
    """Run these tiny models on one torch thread; on a busy 2-core machine two threads made this work 10-100x
    slower. With torch's OpenMP backend the setting is per calling thread (running sessions keep theirs);
    threads that make their first torch call inside this window start from 1 too. Restored on exit."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def asset(task: str, cell: str) -> str:
    return f"rnn_{task}_{cell}"


def score(task: str, card_: dict) -> str:
    """The card's headline held-out number in words."""
    if task == "sine":
        return f"MSE {card_['test_mse']:.4f}"
    return f"accuracy {100 * card_['test_accuracy']:.1f}%"


@st.cache_resource(show_spinner="Loading the shipped sequence model ...")
def shipped(task: str, cell: str) -> rnn.SeqModel:
    """Loaded once per process, in eval mode, shared read-only by every session."""
    model = rnn.load(ASSETS / f"{asset(task, cell)}.pt", device())
    for p in model.parameters():
        p.requires_grad_(False)
    return model


@st.cache_data
def card(task: str, cell: str) -> dict:
    return read_card(asset(task, cell))


@st.cache_data(show_spinner=False)
def probe(task: str, cell: str) -> np.ndarray:
    """Per unit: how strongly its memory (c for the LSTM, h otherwise) tracks the task's hidden variable,
    measured on 200 fresh held-out sequences."""
    model = shipped(task, cell)
    b = heldout(task, 4242, 200, 40 if task == "remember" else None)
    with torch.no_grad(), one_thread():
        _, steps = model(b.x.to(device()))
    values = steps.c if cell == "lstm" else steps.h  # (B, T, H)
    return unit_scores(task, values.cpu(), b).numpy()


def _run(model: rnn.SeqModel, x: torch.Tensor) -> dict:
    """Every step's fields as (T, H) arrays, the previous state, both halves of every gate's input."""
    with torch.no_grad(), one_thread():
        out, steps = model(x.to(device()))  # out (1, T, n_out)
        h_prev = torch.cat([torch.zeros_like(steps.h[:, :1]), steps.h[:, :-1]], dim=1)  # (1, T, H)
        from_x, from_h = model.cell.preactivations(model.features(x.to(device()))[0], h_prev[0])  # (T, G*H)
    res = {name: value[0].cpu().numpy() for name, value in steps._asdict().items()}
    res["h_prev"] = h_prev[0].cpu().numpy()
    if "c" in res:
        res["c_prev"] = np.concatenate([np.zeros_like(res["c"][:1]), res["c"][:-1]])
    res["from_x"], res["from_h"] = from_x.cpu().numpy(), from_h.cpu().numpy()
    if model.cfg.n_out == 1:
        res["pred"] = out[0, :, 0].cpu().numpy()
    else:
        res["probs"] = torch.softmax(out[0], dim=-1).cpu().numpy()  # (T, classes)
    return res


@st.cache_data(max_entries=256, show_spinner=False)
def analyse_text(task: str, cell: str, ids: tuple) -> dict:
    """The shipped model on one typed sequence (symbol ids), every intermediate kept."""
    return _run(shipped(task, cell), torch.tensor([ids], dtype=torch.long))


@st.cache_data(max_entries=256, show_spinner=False)
def sine_input(omega: float, noise: float, length: int, seed: int) -> dict:
    b = rnn_tasks.sine_wave(omega, 0.0, noise, length, seed)
    return {"x": b.x[0, :, 0].numpy(), "clean_next": b.clean[0].numpy()}


@st.cache_data(max_entries=256, show_spinner=False)
def analyse_sine(cell: str, omega: float, noise: float, length: int, seed: int) -> dict:
    x = torch.from_numpy(sine_input(omega, noise, length, seed)["x"]).view(1, -1, 1)
    return _run(shipped("sine", cell), x)


@st.cache_data(max_entries=64, show_spinner="Back-propagating through time ...")
def gradient_norms(length: int, trained: bool, seed: int) -> dict:
    """|| d loss(last step) / d x_t || per step for RNN, GRU and LSTM on the same 64 remember-sequences."""
    b = rnn_tasks.remember(torch.Generator().manual_seed(seed), 64, max(0, length - 2))
    out = {}
    with one_thread():
        for cell in SHIPPED["remember"]:
            model = shipped("remember", cell)
            if not trained:
                model = rnn.build(model.cfg, seed).to(device()).eval()
            feats, target = model.features(b.x.to(device())), b.y[:, -1].to(device())
            out[cell] = rnn.input_gradients(model, feats, target).cpu().numpy()
    return out
