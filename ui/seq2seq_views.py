"""Sections of the sequence-to-sequence tab: input, encoder, step-by-step decoding, what-if, beam search."""
from __future__ import annotations

import numpy as np
import streamlit as st

from dl_core.seq_tasks import TASK
from ui import charts
from ui import seq2seq_charts as sc
from ui import seq2seq_models as sm
from ui import present

EXAMPLES = ["31415", "2026112", "9081726354", "1234567890123456"]
TOKEN_CHOICES = [str(d) for d in range(10)] + ["<eos>"]


def _use_example() -> None:
    if st.session_state.get("s2s_example"):
        st.session_state["s2s_text"] = st.session_state["s2s_example"]


def input_panel() -> tuple[str, str | None]:
    """The model choice and the input; returns (variant, text or None when the input is unusable)."""
    variant = st.radio("Model", list(sm.VARIANTS), format_func=sm.VARIANTS.get, key="s2s_variant", horizontal=True)
    c = sm.card(f"seq2seq_{variant}")
    st.caption(f"Shipped weights: exact match **{100 * c['exact_match']:.1f}%** on {c['data']['eval_pairs']:,} "
               f"held-out inputs, {c['parameters']:,} parameters, trained in {c['train_time_s']:.0f} s by "
               f"`{c['command']}`.")
    st.pills("Examples", EXAMPLES, key="s2s_example", on_change=_use_example)
    raw = st.text_input(f"Digits to reverse ({TASK.min_len}-{TASK.max_len} digits)", value="31415", key="s2s_text",
                        max_chars=64)
    text = raw.strip()
    problem = TASK.problem(text)
    if problem:
        st.warning(problem, icon=":material/block:")
        return variant, None
    if len(text) < TASK.min_len:
        st.info(f"The models were trained on {TASK.min_len} to {TASK.max_len} digits; "
                f"{len(text)} is shorter than anything they saw, so expect mistakes.")
    return variant, text


def _labels(tokens: list[str]) -> list[str]:
    return [f"{i}·{t}" for i, t in enumerate(tokens)]


def encoder_section(res: dict, variant: str) -> None:
    st.markdown("**Encoder.** One row per input token: the hidden state after reading it"
                + (" (left half reads left to right, right half right to left)." if variant == "attention" else ".")
                + " The **context vector** below is all the plain model's decoder ever sees of the input.")
    rows = _labels(res["src_tokens"])
    states = res["enc_states"]
    charts.show(sc.grid_vl(states, rows, [str(j) for j in range(states.shape[1])], "Encoder hidden state per input step",
                           "hidden unit", "input step·token", cell=6), width="stretch")
    ctx = res["context"][None]
    charts.show(sc.grid_vl(ctx, ["c"], [str(j) for j in range(ctx.shape[1])], "Context vector c", "unit", "", cell=6),
                width="stretch")


def _decoding_view(res: dict, variant: str, key: str = "s2s_step") -> None:
    n = len(res["tokens"])
    out_tokens = [TASK.vocab.token(t) for t in res["tokens"]]
    st.markdown(f"**Output:** `{res['output']}`" + ("" if res["ended"] else " (stopped without <eos>)")
                + (" ✓ correct" if res["output"] == TASK.target("".join(res["src_tokens"][:-1])) else " ✗ wrong"))
    if st.session_state.get(key, 0) > n:  # a shorter output than last time: keep the slider in range
        st.session_state[key] = n
    t = st.slider("Decoding step", 1, n, n, key=key) if n > 1 else 1
    t = min(t, n)
    left, right = st.columns([1.3, 1])
    with left:
        rows = _labels(out_tokens[:t]) + [f"{i}·?" for i in range(t, n)]  # later rows still empty
        if res["attn"] is not None:
            att = np.full(res["attn"].shape, np.nan)
            att[:t] = res["attn"][:t]
            charts.show(sc.grid_vl(att, rows, _labels(res["src_tokens"]), "Alignment: where each output step looked",
                                   "input", "output", cell=26, scheme="blues", domain=(0, 1)), width="stretch")
        dec = np.full(res["dec_states"].shape, np.nan)
        dec[:t] = res["dec_states"][:t]
        charts.show(sc.grid_vl(dec, rows, [str(j) for j in range(dec.shape[1])], "Decoder state s_t per output step",
                               "hidden unit", "output", cell=5), width="stretch")
    with right:
        chosen = res["tokens"][t - 1]
        how = "forced" if res["forced"][t - 1] else "chosen"
        st.metric(f"Step {t}: {how} token", TASK.vocab.token(chosen),
                  f"p = {res['probs'][t - 1][chosen]:.3f}", delta_color="off", delta_arrow="off")
        charts.show(sc.topk_vl(res["probs"][t - 1], TASK.vocab.itos, chosen))
        st.caption(f"So far: `{TASK.vocab.decode(res['tokens'][:t])}`. Top-5 next-token probabilities at step {t}.")


decoding_section = st.fragment(_decoding_view)  # the step slider reruns only this section


@st.fragment
def whatif_section(variant: str, text: str, base: dict) -> None:
    st.markdown("Pick a step and a token the model did **not** choose: it is fed back in as if the model had "
                "picked it, and decoding continues from there. Steps before it cannot change.")
    c1, c2 = st.columns(2)
    n = len(base["tokens"])
    if st.session_state.get("s2s_force_step", 0) > n:
        st.session_state["s2s_force_step"] = n
    step = int(c1.number_input("Force at step", 1, n, min(2, n), key="s2s_force_step"))
    model_tok = TASK.vocab.token(base["tokens"][step - 1])
    tok = c2.selectbox(f"Token (the model chose '{model_tok}')", TOKEN_CHOICES, index=4, key="s2s_force_token")
    if tok == model_tok:
        st.info(f"The model chose '{tok}' at step {step} itself, so forcing it changes nothing: pick another token.")
    forced = sm.decode(variant, text, step - 1, TASK.vocab.itos.index(tok))
    a, b = base["tokens"], forced["tokens"]
    same = sum(1 for x, y in zip(a, b) if x == y)
    st.markdown(f"Model's own output: `{base['output']}`  \nWith '{tok}' forced at step {step}: "
                f"`{forced['output']}`" + ("" if forced["ended"] else " (no <eos> within the limit)"))
    st.caption(f"{same} of {max(len(a), len(b))} steps agree. "
               + ("With attention, the model usually just carries on copying: later steps look at their own input "
                  "position." if variant == "attention" else
                  "Without attention the decoder's state is its only memory of where it is, so one wrong token "
                  "can derail the rest."))
    _decoding_view(forced, variant, key="s2s_force_view")


@st.fragment
def beam_section(variant: str, text: str, greedy: dict) -> None:
    st.markdown("**Beam search** keeps the `k` best partial outputs (by summed log-probability) instead of only "
                "the single best next token. Width 1 is greedy decoding. Gray dashed boxes are the best candidate "
                "that was pruned at each step; the red path is the winner; numbers are running log-probabilities.")
    k = st.slider("Beam width k", 1, 6, 3, key="s2s_beam")
    res = sm.beam(variant, text, k)
    present.graphviz(res["dot"], width="stretch")
    st.dataframe(res["finals"], hide_index=True, width="stretch")
    best = res["finals"]["output"].iloc[0] if len(res["finals"]) else ""
    st.caption(f"Greedy: `{greedy['output']}`; beam (k={k}): `{best}`; {res['nodes']} nodes expanded."
               + (" Same answer." if best == greedy["output"] else " Beam search found a different answer."))

