"""The transformer page's trained-model tabs: the model view grid, step-by-step decoding, positions,
the architecture diagram. Computations come from ui.transformer_model (cached); charts are cached specs."""
from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from dl_core.seq_tasks import TASK
from ui import transformer_charts as tc
from ui import transformer_diagram as diagram
from ui.plain import md
from ui.transformer_model import analyse, card, decode, digits_input, positions, shipped

KINDS = {"Encoder self-attention": ("enc", "src", "src"), "Decoder masked self-attention": ("self", "tgt_in", "tgt_in"),
         "Cross-attention": ("cross", "tgt_in", "src")}
WHAT = {"Encoder self-attention": "each input token (row) looks at the input tokens (columns)",
        "Decoder masked self-attention": "each decoder position (row: <bos> and the digits written so far) "
                                         "looks at itself and earlier positions only",
        "Cross-attention": "each decoder position (row) looks at the input tokens (columns): the anti-diagonal "
                           "is the reversal"}


@st.cache_data(max_entries=256, show_spinner=False)
def _spec(kind: str, key: tuple, _mat: np.ndarray, rows: tuple, cols: tuple, **kw) -> dict:
    return tc.grid(_mat, list(rows), list(cols), **kw) if kind == "grid" else tc.matrix(_mat, list(rows), list(cols), **kw)


def _pick(name: str) -> None:
    """A click on a head in one of the model-view grids enlarges that head."""
    event = st.session_state.get(f"tfsel_{KINDS[name][0]}") or {}
    chosen = event.get("selection", {}).get("pick")
    if chosen:
        st.session_state.update(tf_view_kind=name, tf_big_layer=int(chosen[0]["layer"]),
                                tf_big_head=int(chosen[0]["head"]))


def verdict(text: str, output: str) -> str:
    target = TASK.target(text)
    return ":green[:material/check_circle: correct]" if output == target else f":red[:material/cancel: expected {md(target)}]"


def result_line(text: str, a: dict) -> None:
    st.markdown(f"Input {md(text)} → model output **{md(a['output'])}** {verdict(text, a['output'])}")


def model_view_tab() -> None:
    text, problem = digits_input("tf_digits_view")
    if problem:
        return st.error(problem, icon=":material/block:")
    a = analyse(text)
    result_line(text, a)
    cfg = shipped().cfg
    left, right = st.columns([4, 1])
    with right:
        diagram.show(st.session_state.get("tf_view_kind", "Cross-attention"), cfg.n_layers,
                     "Highlighted: the attention shown enlarged.")
    with left:
        st.caption("Every layer × head of the three attentions (BertViz's model view). Darker = more weight. "
                   "Hover for values; **click a head to enlarge it** (or pick it below).")
        for name, (field, rows, cols) in KINDS.items():
            w = a[field]
            panel = 150 if w.shape[-1] > 8 else 110
            tc.draw(_spec("grid", (text, field), w, tuple(a[rows]), tuple(a[cols]), title=name,
                                     row_title="query", col_title="key", panel=panel, pick=True),
                               on_select=partial(_pick, name), key=f"tfsel_{field}", selection_mode="pick")
        c1, c2, c3 = st.columns([2, 1, 1])
        kind = c1.selectbox("Enlarge", list(KINDS), key="tf_view_kind")
        layer = c2.selectbox("Layer", range(1, cfg.n_layers + 1), key="tf_big_layer")
        head = c3.selectbox("Head", range(1, cfg.n_heads + 1), key="tf_big_head")
        field, rows, cols = KINDS[kind]
        w = a[field][layer - 1, head - 1]
        tc.draw(_spec("matrix", (text, field, layer, head), w, tuple(tc.labels(a[rows])),
                                 tuple(tc.labels(a[cols])), title=f"{kind}: layer {layer}, head {head}",
                                 row_sums=True, cell=tc.cell_size(max(w.shape), 420, 14, 34)))
        st.caption(f"{kind}: {WHAT[kind]}. Rows sum to 1 (Σ).")


def decoding_tab() -> None:
    text, problem = digits_input("tf_digits_dec")
    if problem:
        return st.error(problem, icon=":material/block:")
    c1, c2, c3 = st.columns([1, 2, 1])
    mode = c1.segmented_control("Pick the next token by", ["greedy", "sample"], key="tf_dec_mode") or "greedy"
    temp = c2.slider("Temperature T", 0.1, 3.0, step=0.1, key="tf_temp")
    seed = int(c3.number_input("Sampling seed", 0, 10_000, key="tf_dec_seed", disabled=mode == "greedy"))
    steps = decode(text, float(temp), mode == "sample", seed)
    n = len(steps)
    full = TASK.vocab.decode([x["token"] for x in steps])
    st.markdown(f"Complete {mode} output: **`{full}`** "
                + verdict(text, full))
    st.session_state.setdefault(f"tf_dec_step_{n}", 1)
    step = st.slider("Decoding step", 1, n, key=f"tf_dec_step_{n}")
    s = steps[step - 1]
    out_so_far = "".join(TASK.vocab.token(x["token"]) for x in steps[:step - 1])
    chosen = TASK.vocab.token(s["token"])
    st.markdown(f"Step {step} of {n}: the decoder reads `{' '.join(s['prefix'])}` and picks **`{chosen}`**. "
                f"Output so far: `{out_so_far + (chosen if chosen != '<eos>' else '')}`"
                + (" (finished: <eos>)" if chosen == "<eos>" else ""))
    left, mid, right = st.columns([3, 3, 1])
    vocab = list(TASK.vocab.itos)
    with left:
        tc.draw(tc.bars(s["probs"], vocab, s["token"], title=f"next-token probabilities at T = {temp:.1f}"))
        st.caption("softmax(logits / T). A low T sharpens, a high T flattens; **greedy** always takes the tallest bar "
                   "(T cannot change which one that is), **sample** draws from the bars with the seed.")
    cross = s["cross"]  # (L, H, S)
    rows = [f"L{layer + 1} H{head + 1}" for layer in range(cross.shape[0]) for head in range(cross.shape[1])]
    with mid:
        tc.draw(_spec("matrix", (text, temp, mode, seed, step, "cross"), cross.reshape(-1, cross.shape[-1]),
                                 tuple(rows), tuple(tc.labels(analyse(text)["src"])), row_sums=False,
                                 title=f"cross-attention of step {step} over the input", row_title="layer, head",
                                 col_title="input token", cell=tc.cell_size(cross.shape[-1], 330, 12, 26)))
    with right:
        diagram.show("Linear + softmax (next-token probabilities)", shipped().cfg.n_layers)
    align = np.full((n, cross.shape[-1]), np.nan)
    for k in range(step):
        align[k] = steps[k]["cross"][-1].mean(0)
    labels = [f"{k} {TASK.vocab.token(x['token'])}" for k, x in enumerate(steps)]
    tc.draw(_spec("matrix", (text, temp, mode, seed, step, "align"), np.nan_to_num(align, nan=-np.inf),
                             tuple(labels), tuple(tc.labels(analyse(text)["src"])), row_title="output step",
                             col_title="input token", title="alignment so far (last layer, mean over heads); "
                             "gray rows are steps not taken yet", cell=tc.cell_size(max(align.shape), 420, 14, 30),
                             masked_text=""))


def positions_tab() -> None:
    st.markdown("Attention itself is blind to order: shuffle the keys and each query gets the same weights, "
                "shuffled. So each token vector gets a **sinusoidal positional encoding** added: "
                "PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d)).")
    c1, c2 = st.columns(2)
    n = c1.slider("Positions", 4, 64, key="tf_pe_len")
    d = c2.select_slider("d_model", [8, 16, 32, 64, 128], key="tf_pe_d")
    p = positions(int(n), int(d))
    pos = [str(i) for i in range(n)]
    c1, c2 = st.columns(2)
    with c1:
        tc.draw(_spec("matrix", ("pe", n, d), p["pe"], tuple(pos), tuple(f"d{j}" for j in range(d)),
                                 title="PE: one row per position", row_title="position", col_title="dimension",
                                 signed=True, cell=tc.cell_size(max(n, d), 420, 3, 20)))
    with c2:
        tc.draw(_spec("matrix", ("cos", n, d), p["cos"], tuple(pos), tuple(pos), row_title="position",
                                 col_title="position", title="cosine similarity between positions",
                                 cell=tc.cell_size(n, 420, 3, 20)))
    st.caption("Low dimensions oscillate fast, high ones slowly, like the digits of a clock. Neighbouring positions "
               "are most similar and similarity fades with distance, the same at every offset: PE(pos + k) is a "
               "rotation of PE(pos), so attention can learn relative positions.")
    st.subheader("What if the trained model gets no positions?")
    text, problem = digits_input("tf_digits_pos", "Digits (the model runs with and without its positional encoding)")
    if problem:
        return st.error(problem, icon=":material/block:")
    with_pos, without = analyse(text, True), analyse(text, False)
    c, n = card(), card()["data"]["eval_pairs"]
    c1, c2 = st.columns(2)
    for col, a, label, score in ((c1, with_pos, "with positions", c["exact_match"]),
                                 (c2, without, "positions removed", c["exact_match_without_positions"])):
        with col:
            st.markdown(f"**{label}**: output {md(a['output'] or '(empty)')} {verdict(text, a['output'])}  \n"
                        f"exact match on the card's {n:,} held-out inputs: **{100 * score:.1f}%**")
            w = a["cross"][-1].mean(0)
            tc.draw(_spec("matrix", (text, label), w, tuple(tc.labels(a["tgt_in"])),
                                     tuple(tc.labels(a["src"])), title="cross-attention (last layer, mean of heads)",
                                     cell=tc.cell_size(max(w.shape), 300, 10, 24)))
    st.caption("Without positions the encoder sees a bag of digits: '123' and '321' give it the same vectors "
               "in a different order, and the decoder cannot tell which digit comes last. The anti-diagonal "
               "falls apart.")


def architecture_tab() -> None:
    model, c = shipped(), card()
    left, right = st.columns([2, 3])
    with left:
        block = st.selectbox("Highlight a block", list(diagram.BLOCKS), key="tf_block")
        diagram.show(block, model.cfg.n_layers, f"**{block}**: {diagram.ABOUT[block]} "
                     f"Nx = {model.cfg.n_layers} layers in each stack.")
    with right:
        st.markdown(f"**The shipped model** reverses digit strings ({TASK.describe()}). "
                    f"{c['parameters']:,} parameters, d_model {c['config']['d_model']}, {c['config']['n_heads']} heads, "
                    f"{c['config']['n_layers']} + {c['config']['n_layers']} layers; trained for {c['steps']:,} steps in "
                    f"{c['train_time_s']:.0f} s by `{c['command']}`. Exact match on {c['data']['eval_pairs']:,} held-out "
                    f"inputs: **{100 * c['exact_match']:.2f}%**.")
        rows = [(name.split(".")[0] + ("." + name.split(".")[2] if name.startswith(("encoder", "decoder")) else ""),
                 p.numel()) for name, p in model.named_parameters()]
        df = pd.DataFrame(rows, columns=["block", "parameters"]).groupby("block", sort=False).sum().reset_index()
        st.dataframe(df, hide_index=True, width="stretch")
        by_len = c["exact_match_by_length"]
        tc.draw(tc.bars(np.array(list(by_len.values())), list(by_len), None, "exact match by input length "
                                   "(held-out)", "digits", "exact match", height=160))
