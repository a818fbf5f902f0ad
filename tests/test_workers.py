"""The sender's worker threads: a message never waits for a worker, and workers never pile up."""

from __future__ import annotations

import threading
import time

from wxnotify_magic.workers import Pool


def test_workers_taking_turns_do_not_pile_up() -> None:
    # The job reports its outcome, then finishes its bookkeeping: the receiver wakes and hands in the next job
    # while the worker is not yet back waiting, so each job starts a new worker.
    pool = Pool("test-worker", lambda: None, idle=60.0)
    reported = threading.Event()

    def job() -> None:
        reported.set()
        time.sleep(0.05)  # the bookkeeping after the outcome is reported

    for _ in range(12):
        reported.clear()
        assert pool.run(job)
        assert reported.wait(5)
    time.sleep(0.3)  # every worker is back waiting, or ended
    try:
        assert pool.size <= pool.spare, f"{pool.size} workers left for one job at a time"
    finally:
        pool.stop()
        pool.join(5)


def test_jobs_at_once_each_start_at_once() -> None:
    pool = Pool("test-worker", lambda: None, idle=60.0)
    started = threading.Barrier(5, timeout=5)  # all five must be running together: none queued behind another
    try:
        for _ in range(4):
            assert pool.run(started.wait)
        started.wait()
    finally:
        pool.stop()
        pool.join(5)
    assert pool.size == 0
