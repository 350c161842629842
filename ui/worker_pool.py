"""The worker-process pool behind ui.workers (no Streamlit here): training in worker processes: one process pool per server, a global cap, a visible FIFO queue.

Python-heavy loops (RL, small-model training) in threads of the server would hold the GIL and slow
every participant's reruns, so such a job runs a top-level generator function of ``dl_core`` (named
by path, e.g. ``"dl_core.dqn:train"``) in its own process. The worker forwards each value it yields
(typed NamedTuples) through a multiprocessing queue; a monitor thread of the server moves them into
``job.events``, starts queued jobs when a slot frees, and stops jobs that were asked to stop, ran past
their time limit, or whose browser session has gone. A job belongs to one session (its owner): the
pool hands it to that owner only.
"""
from __future__ import annotations

import importlib
import itertools
import multiprocessing as mp
import os
import queue as queue_mod
import sys
import threading
import time
import traceback
from typing import Callable

DEFAULT_CAP = 2  # concurrent worker processes per server (DLV_MAX_JOBS overrides; shared with ui.jobs)
MAX_QUEUE = 30  # waiting jobs at most
ORPHAN_GRACE_S = 20.0  # a job whose session has been gone this long is stopped (queued: dropped)
KILL_GRACE_S = 5.0  # a worker that ignores its stop event this long is terminated
_ids = itertools.count(1)


def _context():
    """forkserver on Linux: torch is imported once in the fork server, so a worker starts in a fraction
    of a second and never inherits the server's threads; spawn elsewhere."""
    if not sys.platform.startswith("linux"):
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["torch", "numpy"])
    return ctx


def _worker(target: str, kwargs: dict, out, stop, max_seconds: float) -> None:
    """Runs in the worker process: iterate ``target(**kwargs)`` and forward what it yields."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    try:
        os.nice(5)  # the server's reruns come first
    except OSError:
        pass
    try:
        import torch

        torch.set_num_threads(1)
        module, name = target.split(":")
        gen = getattr(importlib.import_module(module), name)(**kwargs)
        t0 = time.monotonic()
        for value in gen:
            out.put(("event", value))
            if stop.is_set() or time.monotonic() - t0 > max_seconds:
                gen.close()
                out.put(("end", "stopped" if stop.is_set() else "time limit", None))
                return
        out.put(("end", "done", None))
    except Exception as err:  # reported to the page, never a crash of the server
        traceback.print_exc()
        out.put(("end", "error", f"{type(err).__name__}: {err}"))


class WorkerJob:
    def __init__(self, owner: str, kind: str, target: str, kwargs: dict, max_seconds: float,
                 alive: Callable[[], bool] | None):
        self.id = next(_ids)
        self.owner, self.kind, self.target, self.kwargs = owner, kind, target, kwargs
        self.max_seconds = max_seconds  # hard limit on the worker's running time
        self.events: list = []  # appended by the pool's monitor thread only
        self.state = "queued"  # queued -> running -> done | stopped | error; queued -> stopped
        self.end_reason: str | None = None  # "done", "stopped", "time limit", "session gone", "error"
        self.error: str | None = None
        self.created, self.started, self.ended = time.time(), None, None
        self.process = None
        self._queue = None
        self._stop = None
        self._stop_asked: float | None = None  # monotonic time of the stop request
        self._alive = alive
        self._gone_since: float | None = None

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")

    @property
    def stop_requested(self) -> bool:
        return self._stop_asked is not None

    def stop(self) -> None:
        if self._stop_asked is None:
            self._stop_asked = time.monotonic()
        if self._stop is not None:
            self._stop.set()


class Pool:
    """The cap, the queue and the monitor thread. ``busy_elsewhere()`` counts slots taken by other
    kinds of jobs (ui.jobs' threads), so that both share one cap."""

    def __init__(self, cap: int, busy_elsewhere: Callable[[], int] = lambda: 0, poll_s: float = 0.1):
        self.cap, self.busy_elsewhere, self.poll_s = cap, busy_elsewhere, poll_s
        self._lock = threading.Lock()
        self._queued: list[WorkerJob] = []
        self._running: list[WorkerJob] = []
        self._ctx = _context()
        self._monitor = threading.Thread(target=self._loop, name="dlv-workers", daemon=True)
        self._monitor.start()

    # -- used by pages -------------------------------------------------------------------------
    def submit(self, owner: str, kind: str, target: str, kwargs: dict, max_seconds: float = 300.0,
               alive: Callable[[], bool] | None = None) -> tuple[WorkerJob | None, str]:
        """Queue a job; (None, reason) when this owner already has an active job or the queue is full."""
        with self._lock:
            if any(j.owner == owner for j in self._queued + self._running):
                return None, "You already have a training job: stop it or wait for it to finish."
            if len(self._queued) >= MAX_QUEUE:
                return None, f"The queue is full ({MAX_QUEUE} jobs waiting). Try again in a minute."
            job = WorkerJob(owner, kind, target, kwargs, max_seconds, alive)
            self._queued.append(job)
        self._schedule()
        return job, ""

    def get(self, owner: str, job: WorkerJob | None) -> WorkerJob | None:
        """The job only if it belongs to ``owner``: a job's events are never shown to another session."""
        return job if job is not None and job.owner == owner else None

    def position(self, job: WorkerJob) -> int:
        """1-based place in the queue, 0 when not waiting."""
        with self._lock:
            return self._queued.index(job) + 1 if job in self._queued else 0

    def running_count(self) -> int:
        with self._lock:
            return len(self._running)

    def waiting_count(self) -> int:
        with self._lock:
            return len(self._queued)

    def stop(self, job: WorkerJob) -> None:
        job.stop()
        with self._lock:
            if job in self._queued:
                self._queued.remove(job)
                self._end(job, "stopped")

    # -- the monitor ---------------------------------------------------------------------------
    def _end(self, job: WorkerJob, reason: str, error: str | None = None) -> None:
        job.end_reason, job.error, job.ended = reason, error, time.time()
        job.state = {"done": "done", "error": "error"}.get(reason, "stopped")

    def _schedule(self) -> None:
        with self._lock:
            while self._queued and len(self._running) + self.busy_elsewhere() < self.cap:
                job = self._queued.pop(0)
                job._queue, job._stop = self._ctx.Queue(), self._ctx.Event()
                if job._stop_asked is not None:
                    job._stop.set()
                job.process = self._ctx.Process(target=_worker, name=f"dlv-{job.kind}", daemon=True,
                                                args=(job.target, job.kwargs, job._queue, job._stop, job.max_seconds))
                job.process.start()
                job.started, job.state = time.time(), "running"
                self._running.append(job)

    def _orphaned(self, job: WorkerJob, now: float) -> bool:
        if job._alive is None or job._alive():
            job._gone_since = None
            return False
        job._gone_since = job._gone_since or now
        return now - job._gone_since >= ORPHAN_GRACE_S

    def _drain(self, job: WorkerJob) -> None:
        try:
            while True:
                msg = job._queue.get_nowait()
                if msg[0] == "event":
                    job.events.append(msg[1])
                elif job.state == "running":
                    self._end(job, "session gone" if job.end_reason == "session gone" else msg[1], msg[2])
        except (queue_mod.Empty, EOFError, OSError):
            pass

    def _tick(self) -> None:
        now = time.monotonic()
        with self._lock:
            for job in list(self._queued):
                if self._orphaned(job, now):
                    self._queued.remove(job)
                    self._end(job, "session gone")
            running = list(self._running)
        for job in running:
            if job.end_reason is None and self._orphaned(job, now):
                job.end_reason = "session gone"
                job.stop()
            self._drain(job)
            limit = job.started + job.max_seconds + KILL_GRACE_S
            late = job._stop_asked is not None and now - job._stop_asked > KILL_GRACE_S
            if job.running and (not job.process.is_alive() or late or time.time() > limit):
                if job.process.is_alive():
                    job.process.terminate()
                    job.process.join(1.0)
                self._drain(job)
                if job.running:
                    reason = job.end_reason or ("stopped" if job._stop_asked else "error")
                    self._end(job, reason, None if reason != "error" else "the worker process ended unexpectedly")
            if not job.running:
                job.process.join(0.1)
                with self._lock:
                    if job in self._running:
                        self._running.remove(job)
        self._schedule()

    def _loop(self) -> None:
        while True:
            try:
                self._tick()
            except Exception:  # the monitor must survive anything
                traceback.print_exc()
            time.sleep(self.poll_s)

    def shutdown(self) -> None:
        """Stop everything (tests)."""
        with self._lock:
            jobs = self._queued + self._running
        for job in jobs:
            self.stop(job)
        deadline = time.monotonic() + 10
        while self.running_count() and time.monotonic() < deadline:
            time.sleep(0.05)
