"""RNN and LSTM page: type a sequence, watch every gate of a trained LSTM and the hidden state of a plain RNN."""
import pandas as pd
import streamlit as st

from dl_core import rnn, rnn_tasks, rnn_train
from ui import rnn_charts as rc
from ui import rnn_models, rnn_race, rnn_shapes, rnn_views
from ui.common import page_start, show_code, sidebar_status
from ui.tabs import lazy_tabs

page_start(
    "RNN and LSTM: watch every gate",
    "A recurrent network reads a sequence one symbol at a time and carries a **hidden state** from step "
    "to step. An LSTM adds a **cell state** (its memory) and three gates that decide, at every step, "
    "how much to write (**i**), keep (**f**) and show (**o**). Pick a task, type or generate an input, "
    "and see the real numbers of a small trained PyTorch model, step by step.",
)

TASKS = {"brackets": "Bracket depth", "remember": "Remember the first symbol", "sine": "Noisy sine wave"}
ABOUT = {
    "brackets": "After every character the model predicts how deeply nested it is. It has to **count**: "
                "look for the unit that goes up at `(` and down at `)` (it is preselected below).",
    "remember": "The first symbol is a key (A-D); then come dozens of random letters; at the `?` the model "
                "must name the key. The LSTM keeps it in a cell whose forget gate stays near 1.",
    "sine": "A sine wave of some period with noise added; at every step the model predicts the next value.",
}
task = st.radio("Task", list(TASKS), format_func=TASKS.get, horizontal=True, key="rnn_task")
lstm_card = rnn_models.card(task, "lstm")
if task == "sine":
    metric = f"held-out MSE to the clean next value **{lstm_card['test_mse']:.4f}** (after 10 warm-up steps)"
elif task == "remember":
    metric = f"held-out accuracy **{100 * lstm_card['test_accuracy']:.2f}%** at distances 40-60"
else:
    metric = f"held-out accuracy **{100 * lstm_card['test_accuracy']:.2f}%** per character on 100-character streams"
st.markdown(ABOUT[task])
st.caption(f"Shipped LSTM ({lstm_card['config']['hidden']} units): {metric}, {lstm_card['parameters']:,} "
           f"parameters, trained in {lstm_card['train_time_s']:.0f} s by `{lstm_card['command']}`.")
inp = rnn_views.input_panel(task)

TABS = ["LSTM gates", "Plain RNN, unrolled", "Why gates?", "Shape explorer"]
# Only the open tab runs (on_change="rerun"): in a workshop every rerun's CPU is shared by the room.
gates_tab, plain_tab, why_tab, shapes_tab = lazy_tabs(TABS, "rnn_tab", keep="rnn_")  # hidden tabs keep their values
if gates_tab.open:
    with gates_tab:
        if inp is not None:
            res = rnn_views.analyse(task, "lstm", inp)
            rnn_views.predictions(task, res, inp, "lstm")
            st.subheader("Every gate at every step")
            st.markdown("Each heatmap has time left to right (the input along the bottom) and one row per unit. "
                        "Gates run from 0 (closed) to 1 (open); `g`, `c` and `h` are signed (blue negative, red "
                        "positive). Hover any cell for its value. The framed row is the unit picked here:")
            unit = rnn_views.unit_picker(task, "lstm", res["h"].shape[1])
            rnn_views.heatmaps(res, inp.labels, ("i", "f", "g", "o", "c", "h"), unit)
            rnn_views.unit_view(task, res, inp, ("i", "f", "g", "o", "c", "h"), unit)
            st.subheader("Inside one step")
            t = rnn_views.step_slider(f"rnn_step_{task}_lstm", len(inp.labels))
            rnn_views.lstm_step(res, inp, t, unit)
        show_code(rnn.LSTMCell.forward, rnn._Cell.preactivations, rnn.unroll, rnn.SeqModel.forward)

if plain_tab.open:
    with plain_tab:
        rnn_card = rnn_models.card(task, "rnn")
        st.markdown("The plain (Elman) RNN has no gates and no cell: one `tanh` layer whose output is fed back. "
                    f"The shipped one was trained on the same task the same way: held-out "
                    f"{rnn_models.score(task, rnn_card)} (the LSTM: {rnn_models.score(task, lstm_card)}).")
        if inp is not None:
            res_r = rnn_views.analyse(task, "rnn", inp)
            rnn_views.predictions(task, res_r, inp, "rnn")
            unit_r = rnn_views.unit_picker(task, "rnn", res_r["h"].shape[1])
            rnn_views.heatmaps(res_r, inp.labels, ("h",), unit_r)
            rnn_views.unit_view(task, res_r, inp, ("h",), unit_r)
            t_r = rnn_views.step_slider(f"rnn_step_{task}_rnn", len(inp.labels))
            rnn_views.rnn_step(res_r, inp, t_r, unit_r)
        show_code(rnn.RNNCell.forward)

if why_tab.open:
    with why_tab:
        st.subheader("Vanishing gradients, measured")
        st.markdown(
            "Training adjusts a weight by how much the loss **at the last step** changes when an earlier input "
            "changes. Below: that gradient's size for every input position, computed live with autograd on 64 "
            "remember-sequences. With **fresh weights** it shrinks by a roughly constant factor per step back in "
            "all three, slowest in the LSTM (its forget gates start near 1). **After training**, the LSTM and GRU "
            "keep a path open from the `?` back to the key at the start (their additive memory, "
            "`c_t = f c_(t-1) + i g` with f near 1), while through the plain RNN the gradient from a few dozen "
            "steps back vanishes completely: the key is out of its reach.")
        c1, c2 = st.columns([2, 1])
        length = c1.slider("Sequence length", 5, 120, 60, key="rnn_grad_len")
        trained = c2.radio("Weights", ["trained", "untrained"], key="rnn_grad_weights", horizontal=True,
                           format_func={"trained": "trained (remember task)", "untrained": "fresh random init"}.get)
        norms = rnn_models.gradient_norms(int(length), trained == "trained", 0)
        rc.gradient_chart(norms, rnn_models.CELL_NAMES)
        first = {rnn_models.CELL_NAMES[c]: f"{v[0]:.1e}" for c, v in norms.items()}
        st.caption("Gradient reaching the very first input (the key): " + ", ".join(f"{k} {v}" for k, v in first.items())
                   + f". Exact zeros (float32 underflow) are drawn at {rc.GRAD_FLOOR:.0e}. Trained models are confident, "
                   "so their loss, and every gradient, is small overall: compare the shapes.")
        st.subheader("The shipped models against distance")
        dist = {rnn_models.CELL_NAMES[c]: rnn_models.card("remember", c)["accuracy_by_distance"] for c in ("rnn", "gru", "lstm")}
        table = pd.DataFrame({m: {f"D = {d}": f"{100 * a:.1f}%" for d, a in acc.items()} for m, acc in dist.items()}).T
        st.dataframe(table.rename_axis("model").reset_index(), hide_index=True, width="stretch")
        rc_card = rnn_models.card("remember", "rnn")
        lo, hi = rc_card["data"]["train_lengths"]
        st.caption("Held-out accuracy at the '?' (1,000 fresh sequences per distance, chance 25%), from the model "
                   f"cards. All three were trained identically: {rc_card['steps']:,} Adam steps on distances {lo}-{hi}, "
                   f"{rc_card['config']['hidden']} hidden units, the same seed.")
        st.subheader("Race: RNN vs GRU vs LSTM")
        rnn_race.tab()
        show_code(rnn.input_gradients, rnn.GRUCell.forward, rnn_train.race_steps, rnn_tasks.remember)

if shapes_tab.open:
    with shapes_tab:
        rnn_shapes.tab()
        show_code(rnn.module_shapes)

sidebar_status()
