"""The training-job registry: one job per session, a global cap, stop, errors kept on the job."""
from __future__ import annotations

import threading

from ui.jobs import JobRegistry


def blocking_run(release: threading.Event):
    def run(job):
        while not release.is_set() and not job.stop_requested:
            job.events.append("tick")
            release.wait(0.01)
        return "model"
    return run


def test_cap_and_one_job_per_session():
    release = threading.Event()
    reg = JobRegistry(cap=2)
    a, _ = reg.start("alice", "cnn", blocking_run(release))
    b, _ = reg.start("bob", "cnn", blocking_run(release))
    assert a is not None and b is not None
    again, why = reg.start("alice", "cnn", blocking_run(release))
    assert again is None and "already" in why
    c, why = reg.start("carol", "cnn", blocking_run(release))
    assert c is None and "busy" in why and "2 of 2" in why
    assert len(reg.active()) == 2
    release.set()
    a.thread.join(5)
    b.thread.join(5)
    assert a.state == b.state == "done" and a.result == "model"
    c, _ = reg.start("carol", "cnn", blocking_run(threading.Event()))
    assert c is not None, "a slot frees up when a job ends"
    c.stop()
    c.thread.join(5)
    assert c.state == "stopped" and reg.active() == []


def test_error_is_kept_on_the_job_not_raised():
    def boom(job):
        raise RuntimeError("out of cheese")
    reg = JobRegistry(cap=1)
    job, _ = reg.start("dave", "cnn", boom)
    job.thread.join(5)
    assert job.state == "error" and "out of cheese" in job.error
    assert reg.active() == []


def test_job_of_a_participant_who_left_stops_itself(monkeypatch):
    """A closed tab frees its training slot after the grace period; a connected one keeps running."""
    from ui import jobs

    monkeypatch.setattr(jobs, "ORPHAN_GRACE_S", 0.2)
    connected = {"erin": True, "frank": True}
    release = threading.Event()
    left = jobs.Job("erin", "cnn", blocking_run(release), alive=lambda: connected["erin"])
    stays = jobs.Job("frank", "cnn", blocking_run(release), alive=lambda: connected["frank"])
    for job in (left, stays):
        job._checked = -10.0  # check liveness at the first poll
        job.thread.start()
    connected["erin"] = False
    left.thread.join(5)
    assert left.state == "stopped" and left.orphaned
    assert stays.running and not stays.orphaned
    release.set()
    stays.thread.join(5)
    assert stays.state == "done"


def test_liveness_check_is_off_outside_a_server():
    from ui import jobs

    assert jobs._liveness() is None
