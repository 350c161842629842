"""Streamlit's side of the worker-process pool (ui/worker_pool.py): the server's one pool, a session's job
by key, start / stop callbacks, and the live view that polls a job."""
from __future__ import annotations

import os
import threading
import time
from typing import Callable

from ui.worker_pool import DEFAULT_CAP, Pool, WorkerJob  # noqa: F401  (re-exported: workers.WorkerJob, workers.Pool)

_POOL: Pool | None = None
_POOL_LOCK = threading.Lock()


def pool() -> Pool:
    """The server's one pool (module-level: shared by every session, created on first use)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            from ui import jobs

            _POOL = Pool(int(os.environ.get("DLV_MAX_JOBS", DEFAULT_CAP)), lambda: len(jobs.registry().active()))
        return _POOL


def status_line(job: WorkerJob) -> str:
    """What the page says about a job's place: queue position or state."""
    if job.state == "queued":
        p = pool().position(job)
        nth = {1: "1st", 2: "2nd", 3: "3rd"}.get(p, f"{p}th")
        return f"Waiting: you are {nth} in the queue ({pool().running_count()} of {pool().cap} training slots busy)."
    if job.running:
        return f"Running for {time.time() - job.started:.0f} s (at most {job.max_seconds:.0f} s)."
    return {"done": "Finished.", "time limit": "Stopped at the time limit.", "stopped": "Stopped.",
            "session gone": "Stopped: the session went away.", "error": f"Failed: {job.error}"}.get(job.end_reason, job.state)


def liveness() -> Callable[[], bool] | None:
    from ui import jobs

    return jobs._liveness()


# -- page glue: one job per session under a session-state key ---------------------------------------------
def session_job(key: str) -> WorkerJob | None:
    """This session's job stored under ``st.session_state[key]`` (only if it belongs to this session)."""
    import streamlit as st

    from ui import jobs

    job = st.session_state.get(key)
    return pool().get(jobs.session_id(), job) if isinstance(job, WorkerJob) else None


def start(key: str, kind: str, target: str, kwargs: dict, max_seconds: float) -> str:
    """Submit ``target(**kwargs)`` for this session and keep the job under ``key``; "" or why it was refused."""
    import streamlit as st

    from ui import jobs

    job, reason = pool().submit(jobs.session_id(), kind, target, kwargs, max_seconds, liveness())
    if job is not None:
        st.session_state[key] = job
    return reason


def stop(key: str) -> None:
    """Button callback: stop this session's job under ``key``, if any."""
    job = session_job(key)
    if job is not None:
        pool().stop(job)


def live_view(key: str, active: bool, draw: Callable[[WorkerJob], None], empty: str,
              on_end: Callable[[WorkerJob], None] | None = None, what: str = "Training", every: float = 1.0) -> None:
    """This session's job in a fragment that redraws every ``every`` s while it is queued or running (the
    rest of the page is not rerun): its queue place or state, then ``draw(job)``. When it has ended since
    the page last ran, ``on_end(job)`` runs once and the whole page reruns (so its buttons change)."""
    import streamlit as st

    @st.fragment(run_every=every if active else None)
    def view() -> None:
        job = session_job(key)
        if job is None:
            st.caption(empty)
            return
        if job.state == "queued":
            st.info(status_line(job), icon=":material/hourglass_top:")
        draw(job)
        if job.state == "error":
            st.error(f"{what} failed: {job.error}")
        if active and not job.active:
            if on_end is not None:
                on_end(job)
            st.rerun()

    view()
