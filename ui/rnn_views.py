"""Sections of the RNN page: the input panel, the gate heatmaps, one unit across time, one step's equations."""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd
import streamlit as st
import torch

from dl_core import rnn_tasks
from ui import rnn_charts as rc
from ui import rnn_models
from ui import present

EXAMPLES = {
    "brackets": [("Nested calls", "f(a(b)c)d(e(f(g)))h"), ("Arithmetic", "((x+1)*(y-(2*z)))/(3+(4*(5-w)))"),
                 ("Eight deep", "(((((((()))))))) and back"), ("Long walk", "(a(b(c)d(e(f)g)h)i)(((j)k(l(m)))n)" * 3)],
    "remember": [("Key B, distance 26", "Bqwertyuiopasdfghjklzxcvbnm?"),
                 ("Key C, distance 45", "C" + "thequickbrownfoxjumpsoverthelazydogtwiceagain"[:45] + "?"),
                 ("Key A, distance 3", "Axyz?"), ("Key D, distance 60", "D" + ("abcdefghijklmnopqrstuvwxyz" * 3)[:60] + "?")],
}
SINE_PRESETS = {"period": 20, "noise": 0.1, "length": 60}


class Input(NamedTuple):
    ids: tuple | None  # symbol ids (text tasks)
    wave: tuple | None  # (omega, noise, length, seed) for sine
    labels: list  # one label per step (the symbols, or the values)
    truth: np.ndarray | None  # brackets: true depth per step; sine: the clean next value


def _use_example(task: str) -> None:
    name = st.session_state[f"rnn_example_{task}"]
    st.session_state[f"rnn_text_{task}"] = dict(EXAMPLES[task])[name]


def _random(task: str) -> None:
    n = st.session_state["rnn_random_n"] = st.session_state.get("rnn_random_n", 0) + 1
    gen = torch.Generator().manual_seed(n)
    length = int(torch.randint(10, 61, (1,), generator=gen))
    b = rnn_tasks.make_batch(task, gen, 1, length)
    st.session_state[f"rnn_text_{task}"] = "".join(rnn_tasks.TASKS[task].symbols[k] for k in b.x[0].tolist())


def input_panel(task: str) -> Input | None:
    """Examples, a random generator or typing; unknown characters and over-long input get a message."""
    if task == "sine":
        return _sine_panel()
    t = rnn_tasks.TASKS[task]
    key = f"rnn_text_{task}"
    if key not in st.session_state:
        st.session_state[key] = EXAMPLES[task][0][1]
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    c1.selectbox("Example", [n for n, _ in EXAMPLES[task]], key=f"rnn_example_{task}", on_change=_use_example,
                 args=(task,))
    c2.button("Random sequence", key=f"rnn_random_{task}", on_click=_random, args=(task,), width="stretch")
    hint = ("'(' and ')' plus lowercase letters, digits, spaces and + - * / = , . ; :" if task == "brackets"
            else f"a key {', '.join(rnn_tasks.KEYS)}, lowercase letters, then '?'")
    # max_chars: the browser refuses more; a client that sends more anyway gets it cut here, before any work
    text = st.text_input(f"Your sequence ({hint}; at most {t.max_len} characters)", key=key, max_chars=t.max_len)
    text = text[:t.max_len]  # Streamlit cuts at max_chars too; never do work on more
    if len(text) == t.max_len:
        st.warning(f"The box is full: at most {t.max_len} characters are read; a longer paste is cut off "
                   "at that length.", icon=":material/content_cut:")
    enc = rnn_tasks.encode(t, text)
    if enc.unknown:
        st.warning(f"Removed {len(enc.unknown)} kind(s) of characters the model has never seen: "
                   f"{' '.join(repr(c) for c in enc.unknown[:12])}. The allowed ones: {hint}.",
                   icon=":material/warning:")
    if not enc.ids:
        st.info(f"Type a sequence (or pick an example) to see the network read it: {hint}.", icon=":material/keyboard:")
        return None
    truth, notes = None, []
    if task == "brackets":
        depth, notes = rnn_tasks.depths(enc.text)
        truth = np.array(depth)
    else:
        notes = rnn_tasks.remember_notes(enc.text)
    if notes:
        st.info("Unlike the training data: " + "; ".join(notes) + ".", icon=":material/info:")
    return Input(tuple(enc.ids), None, [rc.shown(ch) for ch in enc.text], truth)


def _sine_panel() -> Input:
    c1, c2, c3, c4 = st.columns(4)
    period = c1.slider("Period (steps)", 4, 80, SINE_PRESETS["period"], key="rnn_sine_period")
    noise = c2.slider("Noise (std)", 0.0, 1.0, SINE_PRESETS["noise"], 0.05, key="rnn_sine_noise")
    length = c3.slider("Length", 2, 120, SINE_PRESETS["length"], key="rnn_sine_length")
    seed = c4.number_input("Noise seed", 0, 10_000, 0, key="rnn_sine_seed")
    lo, hi = (round(2 * math.pi / w) for w in reversed(rnn_tasks.OMEGA))
    if not lo <= period <= hi:
        st.info(f"Training only saw periods of {lo} to {hi} steps: expect the model to struggle.", icon=":material/info:")
    if noise > 2 * rnn_tasks.NOISE:
        st.info(f"Training noise was {rnn_tasks.NOISE}; at {noise} no model can predict the next value well.",
                icon=":material/info:")
    wave = (2 * math.pi / period, float(noise), int(length), int(seed))
    data = rnn_models.sine_input(*wave)
    return Input(None, wave, [f"{v:.2f}" for v in data["x"]], data["clean_next"])


def analyse(task: str, cell: str, inp: Input) -> dict:
    if inp.wave is not None:
        return rnn_models.analyse_sine(cell, *inp.wave)
    return rnn_models.analyse_text(task, cell, inp.ids)


# ---------------------------------------------------------------- predictions -------------------
def predictions(task: str, res: dict, inp: Input, cell: str) -> None:
    name = rnn_models.CELL_NAMES[cell]
    if task == "brackets":
        pred = res["probs"].argmax(1)
        right = int((pred == np.minimum(inp.truth, rnn_tasks.MAX_DEPTH)).sum())
        st.metric("Depth after the last character", f"{pred[-1]} (true {inp.truth[-1]})",
                  f"{right}/{len(pred)} steps right ({100 * right / len(pred):.0f}%)", delta_color="off")
        rc.unit_lines({"true depth": inp.truth, f"{name}'s depth": pred}, inp.labels,
                      "Predicted depth after every character", 180)
    elif task == "remember":
        k = int(res["probs"][-1].argmax())
        st.metric("Answer at the end", rnn_tasks.KEYS[k], f"{100 * res['probs'][-1, k]:.1f}% confident",
                  delta_color="off")
        rc.class_probs(res["probs"], rnn_tasks.TASKS["remember"].classes, inp.labels,
                       f"{name}: probability of each key after every symbol (scored at the end)")
    else:
        warm = min(10, len(res["pred"]) - 1)
        mse = float(np.mean((res["pred"][warm:] - inp.truth[warm:]) ** 2))
        st.metric("MSE to the clean next value", f"{mse:.4f}", f"steps {warm + 1}-{len(res['pred'])}", delta_color="off")
        x = np.array([float(v) for v in inp.labels])
        rc.unit_lines({"input x_t": x, "prediction of x_t+1": res["pred"], "clean x_t+1": inp.truth},
                      [str(t + 1) for t in range(len(x))], f"{name}: next-value prediction", 200)


# ---------------------------------------------------------------- gates --------------------------
def unit_picker(task: str, cell: str, hidden: int) -> int:
    scores = rnn_models.probe(task, cell)
    best = int(np.abs(scores).argmax())
    what = "c" if cell == "lstm" else "h"
    label = {"brackets": "corr with depth", "remember": "share explained by the key", "sine": "corr with x_t"}[task]
    unit = st.selectbox(f"Unit (preselected: the one whose {what} tracks the {rnn_models.PROBE[task]} best)",
                        range(hidden), index=best, key=f"rnn_unit_{task}_{cell}",
                        format_func=lambda u: f"unit {u}: {label} {scores[u]:+.2f}" + ("  ← best" if u == best else ""))
    return int(unit)


def heatmaps(res: dict, labels: list, fields: tuple, unit: int) -> None:
    if len(fields) == 1:
        rc.time_heatmap(res[fields[0]], labels, fields[0], unit)
        return
    for k in range(0, len(fields), 2):
        cols = st.columns(2)
        for col, field in zip(cols, fields[k:k + 2]):
            with col:
                rc.time_heatmap(res[field], labels, field, unit)


def unit_view(task: str, res: dict, inp: Input, fields: tuple, unit: int) -> None:
    """Left: the unit's gates (0..1, g in -1..1). Right: its memory and output next to what it should track."""
    gates = {f: res[f][:, unit] for f in fields if f not in ("c", "h")}
    state = {f: res[f][:, unit] for f in fields if f in ("c", "h")}
    truth = {}
    if task == "brackets":
        truth = {"true depth": inp.truth}
    elif task == "sine":
        truth = {"input x_t": np.array([float(v) for v in inp.labels])}
    title = f"Unit {unit}: " + " and ".join(state) + (f" vs {next(iter(truth))} (dashed)" if truth else "")
    if not gates:
        rc.dual_lines(state, truth, inp.labels, title)
        return
    left, right = st.columns(2)
    with left:
        rc.unit_lines(gates, inp.labels, f"Unit {unit}: its gates", 240)
    with right:
        rc.dual_lines(state, truth, inp.labels, title)


def step_slider(key: str, steps: int) -> int:
    if steps < 2:
        return 1
    if key in st.session_state:  # keep the chosen step, clipped to this input's length
        st.session_state[key] = min(int(st.session_state[key]), steps)
        return int(st.slider("Step to look inside", 1, steps, key=key))
    return int(st.slider("Step to look inside", 1, steps, steps, key=key))


def lstm_step(res: dict, inp: Input, t: int, unit: int) -> None:
    """The equations of step t for one unit, with the real numbers, then every unit's values."""
    s, hid = t - 1, res["h"].shape[1]
    pre = [(res["from_x"][s, k * hid + unit], res["from_h"][s, k * hid + unit]) for k in range(4)]
    sym = inp.labels[s]
    onehot = " (one-hot: W_ih x_t is the column of W_ih for this symbol)" if inp.ids is not None else ""
    st.markdown(f"Step **{t}** reads **x_{t} = `{sym}`**{onehot}. Unit {unit}, with h_{t - 1} and c_{t - 1} "
                "from the step before:")
    lines = []
    for k, (gate, fn) in enumerate([("i", r"\sigma"), ("f", r"\sigma"), ("g", r"\tanh"), ("o", r"\sigma")]):
        a, b = pre[k]
        from_x = rf"\underbrace{{{a:+.3f}}}_{{W_{{i{gate}}}x_t+b}}"
        from_h = rf"\underbrace{{{b:+.3f}}}_{{W_{{h{gate}}}h_{{t-1}}+b}}"
        lines.append(rf"{gate} &= {fn}({from_x} {from_h}) = {fn}({a + b:+.3f}) = {res[gate][s, unit]:.3f}")
    i, f, g, o, c0, c1, h = (res[k][s, unit] for k in ("i", "f", "g", "o", "c_prev", "c", "h"))
    lines.append(rf"c_t &= f\,c_{{t-1}} + i\,g = {f:.3f}\cdot({c0:+.3f}) + {i:.3f}\cdot({g:+.3f}) = {c1:+.3f}")
    lines.append(rf"h_t &= o\,\tanh(c_t) = {o:.3f}\cdot\tanh({c1:+.3f}) = {h:+.3f}")
    st.latex(r"\begin{aligned}" + r"\\".join(lines) + r"\end{aligned}")
    table = pd.DataFrame({"unit": range(hid), **{k: res[k][s] for k in ("i", "f", "g", "o")},
                          "c_t-1": res["c_prev"][s], "c_t": res["c"][s], "h_t-1": res["h_prev"][s], "h_t": res["h"][s]})
    st.dataframe(table.round(3), hide_index=True, height=220, width="stretch")


def rnn_step(res: dict, inp: Input, t: int, unit: int) -> None:
    s = t - 1
    a, b, h = res["from_x"][s, unit], res["from_h"][s, unit], res["h"][s, unit]
    st.latex(rf"h_t[{unit}] = \tanh(\underbrace{{{a:+.3f}}}_{{W_{{ih}}x_t+b_{{ih}}}}"
             rf"\underbrace{{{b:+.3f}}}_{{W_{{hh}}h_{{t-1}}+b_{{hh}}}}) = \tanh({a + b:+.3f}) = {h:+.3f}")
    lo = max(0, s - 7)
    nodes = [f'x{k} [label="x{k + 1}: {_dot(inp.labels[k])}" shape=box]; h{k} [label="h{k + 1}[{unit}]\\n'
             f'{res["h"][k, unit]:+.2f}" style=filled fillcolor="{_colour(res["h"][k, unit])}" '
             f'fontcolor="{"white" if abs(res["h"][k, unit]) > 0.55 else "black"}"]; '
             f"{{rank=same; x{k}; h{k};}} x{k} -> h{k};" for k in range(lo, s + 1)]
    edges = [f"h{k} -> h{k + 1};" for k in range(lo, s)]
    present.graphviz("digraph { rankdir=LR; node [fontsize=10]; " + " ".join(nodes + edges) + " }")
    st.caption(f"The network unrolled over steps {lo + 1} to {t}: the same weights at every step; the only "
               f"path from an early input to step {t} runs through every h in between.")


def _dot(label: str) -> str:
    """A symbol made safe inside a double-quoted graphviz label."""
    return label.replace("\\", "\\\\").replace('"', '\\"')


def _colour(v: float) -> str:
    """-1 blue, 0 white, +1 red, as hex for graphviz."""
    v = max(-1.0, min(1.0, float(v)))
    r, g, b = (255, int(255 * (1 - v)), int(255 * (1 - v))) if v >= 0 else (int(255 * (1 + v)), int(255 * (1 + v)), 255)
    return f"#{r:02x}{g:02x}{b:02x}"
