"""Background training jobs: one per session, a global cap per server process, a stop button.

A job runs in its own thread and only appends to ``job.events``; it never touches Streamlit. The
page polls the job from an ``st.fragment(run_every=...)`` so the rest of the page stays responsive.
"""
from __future__ import annotations

import os
import threading
import time
import traceback
from typing import Any, Callable

import streamlit as st

DEFAULT_CAP = 2  # concurrent training jobs per server process (DLV_MAX_JOBS overrides)
ORPHAN_GRACE_S = 20.0  # a job whose browser session has been gone this long stops itself


class Job:
    def __init__(self, owner: str, kind: str, run: Callable[["Job"], Any], alive: Callable[[], bool] | None = None):
        self.owner = owner  # the session that started it
        self.kind = kind  # e.g. "cnn"
        self.events: list = []  # appended by the worker thread only
        self.result: Any = None  # what ``run`` returned (e.g. the trained model)
        self.error: str | None = None
        self.state = "running"  # running -> done | stopped | error
        self.started = time.time()
        self._stop = threading.Event()
        self._run = run
        self._alive = alive  # () -> bool: is the participant's browser still connected? (None: always)
        self._gone_since: float | None = None  # when the session was first seen disconnected
        self._checked = 0.0  # when liveness was last checked
        self.orphaned = False  # stopped because its participant left
        self.thread = threading.Thread(target=self._main, name=f"dlv-job-{kind}", daemon=True)

    def _main(self) -> None:
        try:
            self.result = self._run(self)
            self.state = "stopped" if self._stop.is_set() else "done"
        except Exception as err:  # shown on the page, never a crash of the server
            self.error = f"{type(err).__name__}: {err}"
            self.state = "error"
            traceback.print_exc()

    def stop(self) -> None:
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        """Polled by the worker between steps. Also stops a job whose participant has left: a closed
        tab must not keep a training slot (and a core) busy until the job's own time limit."""
        if not self._stop.is_set() and self._alive is not None:
            now = time.monotonic()
            if now - self._checked >= 1.0:
                self._checked = now
                if self._alive():
                    self._gone_since = None
                elif self._gone_since is None:
                    self._gone_since = now
                elif now - self._gone_since >= ORPHAN_GRACE_S:
                    self.orphaned = True
                    self._stop.set()
        return self._stop.is_set()

    @property
    def running(self) -> bool:
        return self.state == "running"


class JobRegistry:
    """Process-wide bookkeeping of the running jobs (shared by all sessions)."""

    def __init__(self, cap: int):
        self.cap = cap
        self._lock = threading.Lock()
        self._jobs: list[Job] = []

    def active(self) -> list[Job]:
        with self._lock:
            self._jobs = [j for j in self._jobs if j.running]
            return list(self._jobs)

    def start(self, owner: str, kind: str, run: Callable[[Job], Any]) -> tuple[Job | None, str]:
        """Start a job, or return (None, reason) when this session already runs one or the cap is reached.
        Worker processes (ui.workers) take slots of the same cap."""
        in_workers = _worker_slots()  # read before taking our lock: the pool's lock never nests inside it
        with self._lock:
            self._jobs = [j for j in self._jobs if j.running]
            if any(j.owner == owner for j in self._jobs):
                return None, "You already have a training job running: stop it or wait for it to finish."
            if len(self._jobs) + in_workers >= self.cap:
                return None, (f"The server is busy: {len(self._jobs) + in_workers} of {self.cap} training slots are in use. "
                              "Try again in a moment.")
            job = Job(owner, kind, run, alive=_liveness())
            self._jobs.append(job)
        job.thread.start()
        return job, ""


def _worker_slots() -> int:
    """Slots taken by worker processes (0 when the pool was never used)."""
    from ui import workers

    return workers._POOL.running_count() if workers._POOL is not None else 0


def _liveness() -> Callable[[], bool] | None:
    """A check that the calling browser session is still connected, or None outside a real server."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists():
        return None
    runtime, sid = Runtime.instance(), ctx.session_id
    return lambda: runtime.is_active_session(sid)


@st.cache_resource
def registry() -> JobRegistry:
    return JobRegistry(int(os.environ.get("DLV_MAX_JOBS", DEFAULT_CAP)))


def session_id() -> str:
    """A stable id for this browser session."""
    if "_dlv_session_id" not in st.session_state:
        st.session_state["_dlv_session_id"] = os.urandom(8).hex()
    return st.session_state["_dlv_session_id"]


def stop(key: str) -> None:
    """Button callback: stop the job stored under ``st.session_state[key]``, if any."""
    job: Job | None = st.session_state.get(key)
    if job is not None:
        job.stop()


def live_view(key: str, running: bool, draw: Callable[[Job], None], empty: str,
              on_end: Callable[[Job], None] | None = None, what: str = "Training") -> None:
    """Show the session's job ``st.session_state[key]`` in a fragment that redraws every second
    while it runs (the rest of the page is not rerun). ``draw(job)`` shows its events; when the job
    has ended since the page last ran, ``on_end(job)`` runs once and the whole page reruns (so the
    Start/Stop buttons change)."""

    @st.fragment(run_every=1.0 if running else None)
    def view() -> None:
        job: Job | None = st.session_state.get(key)
        if job is None:
            st.caption(empty)
            return
        draw(job)
        if job.state == "error":
            st.error(f"{what} failed: {job.error}")
        elif running and not job.running:
            if on_end is not None:
                on_end(job)
            st.rerun()

    view()
