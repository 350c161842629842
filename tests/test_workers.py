"""ui.workers: jobs run in worker processes, events arrive, stop, cap and FIFO queue, owners isolated."""
from __future__ import annotations

import time
from typing import NamedTuple

import pytest

from ui import worker_pool, workers


class Tick(NamedTuple):
    i: int
    pid: int


def count_up(n: int, delay: float = 0.0):
    """A generator run by the workers in these tests (importable by path)."""
    import os

    for i in range(n):
        time.sleep(delay)
        yield Tick(i, os.getpid())


def fail_after(n: int):
    yield from count_up(n)
    raise ValueError("broken on purpose")


def wait_for(cond, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.fixture
def pool():
    p = workers.Pool(cap=1, poll_s=0.05)
    yield p
    p.shutdown()


def test_events_arrive_in_order_from_another_process(pool):
    import os

    job, reason = pool.submit("alice", "test", "tests.test_workers:count_up", {"n": 5}, max_seconds=60)
    assert job is not None and reason == ""
    wait_for(lambda: job.state == "done")
    assert [e.i for e in job.events] == [0, 1, 2, 3, 4] and type(job.events[0]).__name__ == "Tick"
    assert job.events[0].pid != os.getpid() and job.end_reason == "done"


def test_stop_cap_queue_and_owner_isolation(pool):
    a, _ = pool.submit("alice", "test", "tests.test_workers:count_up", {"n": 10**6, "delay": 0.02})
    again, reason = pool.submit("alice", "test", "tests.test_workers:count_up", {"n": 1})
    assert again is None and "already" in reason  # one job per session
    b, _ = pool.submit("bob", "test", "tests.test_workers:count_up", {"n": 3})
    c, _ = pool.submit("carol", "test", "tests.test_workers:count_up", {"n": 3})
    assert a.state == "running" and (b.state, c.state) == ("queued", "queued")  # cap 1
    assert (pool.position(b), pool.position(c)) == (1, 2)
    assert pool.get("bob", a) is None and pool.get("alice", a) is a  # never handed to another session
    wait_for(lambda: len(a.events) > 2)
    pool.stop(a)
    wait_for(lambda: a.state == "stopped")
    assert a.end_reason == "stopped"
    wait_for(lambda: b.state == "done")  # the queue moves on, first in first out
    assert [e.i for e in b.events] == [0, 1, 2]
    wait_for(lambda: c.state == "done")


def test_time_limit_error_and_orphans(pool, monkeypatch):
    slow, _ = pool.submit("a", "test", "tests.test_workers:count_up", {"n": 10**6, "delay": 0.05}, max_seconds=1.0)
    wait_for(lambda: not slow.active)
    assert slow.end_reason == "time limit" and slow.events
    bad, _ = pool.submit("b", "test", "tests.test_workers:fail_after", {"n": 2})
    wait_for(lambda: not bad.active)
    assert bad.state == "error" and "broken on purpose" in bad.error and len(bad.events) == 2
    monkeypatch.setattr(worker_pool, "ORPHAN_GRACE_S", 0.2)  # read by the pool
    gone, _ = pool.submit("c", "test", "tests.test_workers:count_up", {"n": 10**6, "delay": 0.02},
                          alive=lambda: False)
    wait_for(lambda: not gone.active)
    assert gone.end_reason == "session gone"
