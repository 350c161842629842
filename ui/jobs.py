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


class Job:
    def __init__(self, owner: str, kind: str, run: Callable[["Job"], Any]):
        self.owner = owner  # the session that started it
        self.kind = kind  # e.g. "cnn"
        self.events: list = []  # appended by the worker thread only
        self.result: Any = None  # what ``run`` returned (e.g. the trained model)
        self.error: str | None = None
        self.state = "running"  # running -> done | stopped | error
        self.started = time.time()
        self._stop = threading.Event()
        self._run = run
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
        """Start a job, or return (None, reason) when this session already runs one or the cap is reached."""
        with self._lock:
            self._jobs = [j for j in self._jobs if j.running]
            if any(j.owner == owner for j in self._jobs):
                return None, "You already have a training job running: stop it or wait for it to finish."
            if len(self._jobs) >= self.cap:
                return None, (f"The server is busy: {len(self._jobs)} of {self.cap} training slots are in use. "
                              "Try again in a moment.")
            job = Job(owner, kind, run)
            self._jobs.append(job)
        job.thread.start()
        return job, ""


@st.cache_resource
def registry() -> JobRegistry:
    return JobRegistry(int(os.environ.get("DLV_MAX_JOBS", DEFAULT_CAP)))


def session_id() -> str:
    """A stable id for this browser session."""
    if "_dlv_session_id" not in st.session_state:
        st.session_state["_dlv_session_id"] = os.urandom(8).hex()
    return st.session_state["_dlv_session_id"]
