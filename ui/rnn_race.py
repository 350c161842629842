"""The live training race on the remember task: RNN vs GRU vs LSTM, one background job per session."""
from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from dl_core.rnn_train import RaceEvent, race_steps
from ui import jobs
from ui import rnn_charts as rc
from ui.common import device
from ui.rnn_models import CELL_NAMES

JOB_KEY = "rnn_race_job"
MAX_STEPS = 600  # gradient steps per model, at most
MAX_SECONDS = 120  # wall-clock limit of one race


def _run(distance: int, steps: int, dev):
    def run(job: jobs.Job):
        t0 = time.perf_counter()
        race = race_steps(distance, steps=steps, eval_every=20, device=dev)
        for event in race:
            job.events.append(event)
            if job.stop_requested or time.perf_counter() - t0 > MAX_SECONDS:
                race.close()
                break
        return None
    return run


def tab() -> None:
    st.markdown(
        "Train three fresh models (hidden size 32, Adam, the same seed and the **same batches**) on the "
        "remember task. Training mixes distances 1 to *D*, so short cases can teach first; the curves show "
        "each model's accuracy at **exactly distance D** on 256 held-out sequences (chance: 25%). "
        f"At most {MAX_STEPS} steps or {MAX_SECONDS} s; the job is yours alone and you can stop it any time."
    )
    job: jobs.Job | None = st.session_state.get(JOB_KEY)
    running = job is not None and job.running
    c1, c2, b1, b2 = st.columns([2, 2, 1, 1], vertical_alignment="bottom")
    distance = c1.slider("Distance D (letters between key and '?')", 2, 60, 30, key="rnn_race_distance",
                         disabled=running)
    steps = c2.select_slider("Steps per model", [100, 200, 300, 400, 600], 300, key="rnn_race_steps",
                             disabled=running)
    if b1.button("Start race", key="rnn_race_start", type="primary", disabled=running, width="stretch"):
        job, reason = jobs.registry().start(jobs.session_id(), "rnn-race", _run(int(distance), int(steps), device()))
        if job is None:
            st.warning(reason, icon=":material/hourglass_top:")
        else:
            st.session_state[JOB_KEY] = job
            st.session_state["rnn_race_label"] = f"distance {distance}, {steps} steps"
            running = True
    if b2.button("Stop", key="rnn_race_stop", disabled=not running, width="stretch"):
        job.stop()
    _progress_view(running)


def _progress_view(running: bool) -> None:
    @st.fragment(run_every=1.0 if running else None)
    def view():
        job: jobs.Job | None = st.session_state.get(JOB_KEY)
        if job is None:
            st.caption("No race yet in this session.")
            return
        events = [e for e in list(job.events) if isinstance(e, RaceEvent)]
        label = st.session_state.get("rnn_race_label", "")
        if events:
            last = events[-1]
            st.caption(f"Race ({label}): step {last.step}, {last.seconds:.0f} s. Latest accuracy at D: " + ", ".join(
                f"{CELL_NAMES[e.cell]} {100 * e.acc:.0f}%" for e in events[-3:]))
            df = pd.DataFrame({"step": [e.step for e in events], "model": [CELL_NAMES[e.cell] for e in events],
                               "accuracy at D": [e.acc for e in events], "training loss": [e.loss for e in events]})
            a, b = st.columns(2)
            a.altair_chart(rc.race_chart(df, "accuracy at D", "Held-out accuracy at distance D", [0, 1]), width="stretch")
            b.altair_chart(rc.race_chart(df, "training loss", "Training loss (cross-entropy at the '?')"), width="stretch")
        else:
            st.caption("Starting the race ...")
        if job.state == "error":
            st.error(f"The race failed: {job.error}")
        elif running and not job.running:  # it ended since the page last ran: refresh the whole page once
            st.rerun()
        elif not job.running:
            verb = "stopped" if job.state == "stopped" or job.stop_requested else "finished"
            st.info(f"Race {verb}.", icon=":material/flag:")
    view()
