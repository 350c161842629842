"""The live training race on the remember task: RNN vs GRU vs LSTM, one worker-process job per session."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from dl_core.rnn_train import RaceEvent, RaceTick
from ui import workers
from ui import rnn_charts as rc
from ui.common import device
from ui.rnn_models import CELL_NAMES

JOB_KEY = "rnn_race_job"
MAX_STEPS = 600  # gradient steps per model, at most
MAX_SECONDS = 120  # wall-clock limit of one race


def _start() -> None:
    distance, steps = int(st.session_state["rnn_race_distance"]), int(st.session_state["rnn_race_steps"])
    reason = workers.start(JOB_KEY, "rnn-race", "dl_core.jobs:rnn_race",
                           dict(distance=distance, steps=steps, eval_every=20, device=str(device())), MAX_SECONDS)
    if reason:
        st.session_state["rnn_race_refused"] = reason
    else:
        st.session_state["rnn_race_label"] = f"distance {distance}, {steps} steps"


def tab() -> None:
    st.markdown(
        "Train three fresh models (hidden size 32, Adam, the same seed and the **same batches**) on the "
        "remember task. Training mixes distances 1 to *D*, so short cases can teach first; the curves show "
        "each model's accuracy at **exactly distance D** on 256 held-out sequences (chance: 25%). "
        f"At most {MAX_STEPS} steps or {MAX_SECONDS} s; the job is yours alone and you can stop it any time."
    )
    job = workers.session_job(JOB_KEY)
    running = job is not None and job.active  # queued or running
    c1, c2, b1, b2 = st.columns([2, 2, 1, 1], vertical_alignment="bottom")
    c1.slider("Distance D (letters between key and '?')", 2, 60, 30, key="rnn_race_distance", disabled=running)
    c2.select_slider("Steps per model", [100, 200, 300, 400, 600], 300, key="rnn_race_steps", disabled=running)
    # Callbacks (not ``if st.button(...)``): they run once, before the script, whatever reruns follow.
    b1.button("Start race", key="rnn_race_start", type="primary", disabled=running, width="stretch", on_click=_start)
    b2.button("Stop", key="rnn_race_stop", disabled=not running, width="stretch", on_click=workers.stop, args=(JOB_KEY,))
    if st.session_state.get("rnn_race_refused"):
        st.warning(st.session_state.pop("rnn_race_refused"), icon=":material/hourglass_top:")
    _progress_view(running)


def _draw(job: workers.WorkerJob) -> None:
    all_events = list(job.events)
    events = [e for e in all_events if isinstance(e, RaceEvent)]
    ticks = [e for e in all_events[-3:] if isinstance(e, RaceTick)]
    label = st.session_state.get("rnn_race_label", "")
    if ticks:
        st.caption(f"Race ({label}): step {ticks[-1].step}, {ticks[-1].seconds:.0f} s.")
    if events:
        st.caption("Latest accuracy at D: " + ", ".join(f"{CELL_NAMES[e.cell]} {100 * e.acc:.0f}%"
                                                       for e in events[-3:]))
        df = pd.DataFrame({"step": [e.step for e in events], "model": [CELL_NAMES[e.cell] for e in events],
                           "accuracy at D": [e.acc for e in events], "training loss": [e.loss for e in events]})
        a, b = st.columns(2)
        a.altair_chart(rc.race_chart(df, "accuracy at D", "Held-out accuracy at distance D", [0, 1]), width="stretch")
        b.altair_chart(rc.race_chart(df, "training loss", "Training loss (cross-entropy at the '?')"), width="stretch")
    elif not ticks:
        st.caption("Starting the race ...")
    if job.state in ("done", "stopped"):
        verb = "stopped" if job.state == "stopped" or job.stop_requested else "finished"
        if ticks and ticks[-1].seconds > MAX_SECONDS:
            verb = f"stopped at the {MAX_SECONDS} s limit"
        st.info(f"Race {verb}.", icon=":material/flag:")


def _progress_view(running: bool) -> None:
    workers.live_view(JOB_KEY, running, _draw, "No race yet in this session.", what="The race")
