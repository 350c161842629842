"""The four tabs of the real-model page: your text's attention, causal vs bidirectional, next token, scale."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dl_core import real_attention as ra
from dl_core import real_sampling as rs
from ui import real_attention_charts as rc
from ui import real_attention_models as rm
from ui import transformer_charts as tc


@st.cache_data(max_entries=64, show_spinner=False)
def _model_view(which: str, text: str, _w: np.ndarray) -> dict:
    return rc.model_view(_w)


@st.cache_data(max_entries=256, show_spinner=False)
def _matrix(key: tuple, _w: np.ndarray, tokens: tuple, rows: tuple | None = None, **kw) -> dict:
    return tc.matrix(_w, list(rows) if rows else tc.labels(tokens), tc.labels(tokens), **kw)


def _masked(w: np.ndarray, causal: bool) -> np.ndarray:
    """The causal mask drawn as such: blocked cells (weight exactly 0, checked in the tests) become -inf,
    which the heatmap paints gray and labels "−∞ (masked)"."""
    return np.where(np.triu(np.ones(w.shape, bool), 1), -np.inf, w) if causal else w


def _pick(key: str, which: str) -> None:
    chosen = (st.session_state.get(key) or {}).get("selection", {}).get("pick")
    if chosen:
        st.session_state[f"ra_layer_{which}"] = int(chosen[0]["layer"])
        st.session_state[f"ra_head_{which}"] = int(chosen[0]["head"])


def tokens_line(tokens: list[str]) -> None:
    st.caption(f"{len(tokens)} tokens (each box is one token; the model sees ids, not letters):")
    st.code(" | ".join(tokens), language=None, wrap_lines=True)


def attention_tab() -> None:
    text = rm.text_input("Your text", "ra_text", rm.DEFAULT_A)
    which = st.radio("Model", ["decoder", "encoder"], horizontal=True, key="ra_which",
                     format_func={"decoder": "SmolLM2-135M (decoder, causal)",
                                  "encoder": "MiniLM-L6 (encoder, bidirectional)"}.get)
    a = rm.analyse(which, text)
    if a is None:
        return
    lm = rm.MODELS[which]()
    tokens_line(a.tokens)
    c1, c2 = st.columns(2)
    layer = c1.number_input("Layer", 1, lm.n_layers, key=f"ra_layer_{which}")
    head = c2.number_input("Head", 1, lm.n_heads, key=f"ra_head_{which}")
    w = a.weights.numpy()
    left = right = st.container()  # one above the other: side by side, the wide model view ran into the head view
    with left:
        st.markdown(f"**Head view**, layer {layer}: each line joins a token (left) to a token it attends to "
                    "(right); stronger weight, stronger line. Hover a head in the legend to isolate it "
                    "(double-click: all again), hover a token on the left to see only its lines.")
        heads = st.multiselect("Heads", range(1, lm.n_heads + 1), default=list(range(1, lm.n_heads + 1)),
                               key=f"ra_heads_{which}")
        st.vega_lite_chart(rc.head_view(w[layer - 1], a.tokens, [h - 1 for h in heads]), width="content")
    with right:
        st.markdown(f"**Model view**: every layer (rows) x head (columns), {lm.n_layers * lm.n_heads} maps. "
                    "**Click one to enlarge it** and drill into it below.")
        key = f"ra_mv_{which}"
        st.vega_lite_chart(_model_view(which, text, w), width="content", on_select=lambda: _pick(key, which),
                           key=key, selection_mode="pick")
    big = _masked(w[layer - 1, head - 1], lm.causal)
    tc.draw(_matrix((which, text, layer, head), big, tuple(a.tokens), row_sums=True,
                    title=f"Layer {layer}, head {head}: query (row) attends to key (column)",
                    cell=tc.cell_size(len(a.tokens), 520, 8, 30), text_min_cell=26))
    drill_down(lm, a, layer - 1, head - 1)


def drill_down(lm: ra.RealLM, a: ra.Attn, layer: int, head: int) -> None:
    st.markdown("**Drill-down**: one query token of this head, the same stages as the tiny model's calculator, "
                "computed from the model's own q and k projections" + (" (after RoPE)." if lm.causal else "."))
    q = st.selectbox("Query token", range(len(a.tokens)), index=len(a.tokens) - 1, key="ra_query",
                     format_func=lambda i: f"{i} {a.tokens[i]}")
    d = ra.drill(lm, a, layer, head, q)
    key = (lm.name, layer, head, q, tuple(a.ids.tolist()))
    cell = tc.cell_size(len(a.tokens), 640, 10, 40)
    scores = np.stack([d.scaled.numpy(), d.mask.numpy(), (d.scaled + d.mask).numpy()])  # (3, T)
    tc.draw(_matrix(("scores",) + key, scores, tuple(a.tokens), rows=("q·k/√d", "mask", "q·k/√d + mask"),
                    title=f"Query {q} ({a.tokens[q]!r}), head dim d = {lm.head_dim}", row_title="stage",
                    col_title="", signed=True, cell=cell, text_min_cell=30, text_fmt=".1f"))
    probs = np.stack([d.weights.numpy(), d.model.numpy()])  # (2, T)
    tc.draw(_matrix(("probs",) + key, probs, tuple(a.tokens), rows=("softmax", "model's own"),
                    row_title="", col_title="key", domain=[0, 1], row_sums=True, cell=cell, text_min_cell=30))
    err = float((d.weights - d.model).abs().max())
    shared = ", ".join(str(h + 1) for h in ra.kv_groups(lm)[d.kv])
    kv = f"; key/value head {d.kv + 1} (shared by query heads {shared})" if lm.n_kv_heads < lm.n_heads else ""
    st.caption(f"Recomputed softmax row vs the model's own: max difference {err:.1e}{kv}.")


def compare_tab() -> None:
    st.markdown("The same text through the **decoder** (each token sees only itself and earlier tokens: the "
                "upper triangle is empty, gray = masked) and the **encoder** (every token sees every token). "
                "A second text lets you compare two inputs.")
    texts = [rm.text_input("Text A", "ra_text", rm.DEFAULT_A), rm.text_input("Text B", "ra_text_b", rm.DEFAULT_B)]
    c1, c2, c3, c4 = st.columns(4)
    ld = c1.number_input("Decoder layer", 1, 30, value=6, key="ra_cmp_ld")
    hd = c2.number_input("Decoder head", 1, 9, value=1, key="ra_cmp_hd")
    le = c3.number_input("Encoder layer", 1, 6, value=2, key="ra_cmp_le")
    he = c4.number_input("Encoder head", 1, 12, value=1, key="ra_cmp_he")
    for label, text in zip("AB", texts):
        cols = st.columns(2)
        for col, which, layer, head in ((cols[0], "decoder", ld, hd), (cols[1], "encoder", le, he)):
            with col:
                a = rm.analyse(which, text)
                if a is None:
                    continue
                name = "SmolLM2 (causal)" if which == "decoder" else "MiniLM (bidirectional)"
                w = _masked(a.weights[layer - 1, head - 1].numpy(), which == "decoder")
                tc.draw(_matrix((which, text, layer, head), w, tuple(a.tokens),
                                title=f"Text {label}, {name}: layer {layer}, head {head}",
                                cell=tc.cell_size(len(a.tokens), 360, 5, 24), text_min_cell=99))


def next_token_tab() -> None:
    text = rm.text_input("Prompt", "ra_prompt", "The capital of France is")
    c1, c2, c3, c4 = st.columns(4)
    temp = c1.slider("Temperature", 0.0, 2.0, 1.0, 0.05, key="ra_temp", help="0 = greedy")
    top_k = c2.slider("Top-k (0 = all)", 0, 100, 20, key="ra_topk")
    top_p = c3.slider("Top-p", 0.05, 1.0, 0.9, 0.05, key="ra_topp")
    seed = c4.number_input("Seed", 0, 10_000, 0, key="ra_seed")
    a = rm.analyse("decoder", text)
    if a is None:
        return
    lm = rm.decoder()
    nt = rs.next_token_probs(a.logits, temp, top_k, top_p)
    t = rs.top(lm, nt, 12)
    st.vega_lite_chart(rc.prob_bars(t.tokens, t.probs, t.raw, f"Next token ({nt.kept:,} of "
                                    f"{len(nt.probs):,} kept)"), width="stretch")
    n = st.slider("Tokens to generate", 1, 8, 5, key="ra_n")
    if st.button("Generate step by step", key="ra_gen", icon=":material/play_arrow:"):
        st.session_state["ra_steps"] = 1
    if st.session_state.get("ra_steps"):
        steps = rm.generate(text, n, temp, top_k, top_p, int(seed))
        if isinstance(steps, str):
            return st.error(steps)
        shown = min(st.session_state["ra_steps"], len(steps))
        if shown < len(steps) and st.button("Next step", key="ra_next", icon=":material/skip_next:"):
            shown = st.session_state["ra_steps"] = shown + 1
        st.text(text + "".join(s.token for s in steps[:shown]))
        s = steps[shown - 1]
        st.vega_lite_chart(rc.prob_bars(s.top.tokens, s.top.probs, s.top.raw,
                                        f"Step {s.step}: drew {s.token!r} (p = {s.prob:.3f})"), width="stretch")


def scale_tab(tiny: dict) -> None:
    rows = [{"model": "Tiny digit reverser (this course)", "attention": "encoder-decoder",
             "layers": tiny["config"]["n_layers"], "query heads": tiny["config"]["n_heads"],
             "key/value heads": tiny["config"]["n_heads"], "d_model": tiny["config"]["d_model"],
             "head dim": tiny["config"]["d_model"] // tiny["config"]["n_heads"], "parameters": tiny["parameters"]}]
    for which in ("encoder", "decoder"):
        lm = rm.MODELS[which]()
        rows.append({"model": lm.name, "attention": "causal" if lm.causal else "bidirectional",
                     "layers": lm.n_layers, "query heads": lm.n_heads, "key/value heads": lm.n_kv_heads,
                     "d_model": lm.d_model, "head dim": lm.head_dim, "parameters": lm.n_params})
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    lm = rm.decoder()
    groups = "; ".join(f"KV head {j + 1} → query heads {', '.join(str(h + 1) for h in g)}"
                       for j, g in enumerate(ra.kv_groups(lm)))
    st.markdown(f"**Grouped-query attention.** SmolLM2 has {lm.n_heads} query heads but only {lm.n_kv_heads} "
                f"key/value heads: {groups}. Heads of one group compare their own queries with the *same* "
                "keys (and average the same values), so the key/value projections and the KV cache kept "
                f"during generation are {lm.n_heads // lm.n_kv_heads}x smaller, at little cost in quality "
                "(Ainslie et al. 2023). The drill-down tab says which KV head a query head reads.")
