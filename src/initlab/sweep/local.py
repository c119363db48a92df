"""The local executor: worker processes on this machine; the driver is the store's one writer.

Each worker is a fresh Python process (``python -m initlab.sweep.worker``: spawned, never forked,
and never re-importing the caller's script) running torch with cores / workers threads, so the
machine is not oversubscribed. The driver hands each idle worker the next job over the worker's own
socket and replays the record messages that come back into the store (:mod:`initlab.sweep.jobs`); a
worker loads each dataset once (the loaders memoize it).

A worker that dies (killed, out of memory) fails the runs of its job that had not ended, naming its
exit status, and a fresh worker takes its place. Workers never outlive the driver
(:func:`initlab.sweep.worker.exit_with_parent`). Workers ignore SIGINT: Ctrl-C stops the driver,
which kills the workers and records their runs as failed (``interrupted``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait

from initlab.imports import search_path
from initlab.records import RunSink
from initlab.sweep.jobs import DONE, Job, TrackingSink, fail_unended, replay


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def threads_per_worker(workers: int) -> int:
    """torch threads for each of ``workers`` processes: the cores shared out, at least one."""
    return max(1, available_cores() // workers)


def run_local(jobs: Sequence[Job], sink: RunSink, *, workers: int, threads: int | None = None) -> None:
    """Run ``jobs`` on ``workers`` local processes with ``threads`` torch threads each (default:
    :func:`threads_per_worker`), replaying their records into ``sink``."""
    if not jobs:
        return
    size = min(workers, len(jobs))
    threads = threads or threads_per_worker(workers)
    pool: list[_Worker] = []
    queue = deque(jobs)
    try:
        while queue or any(w.job is not None for w in pool):
            while queue and len(pool) < size:  # at the start, and in place of a dead worker
                pool.append(_Worker(threads))
            for worker in pool:
                if worker.job is None and queue:
                    worker.assign(queue.popleft(), sink)
            ready = wait([w.conn for w in pool], timeout=5.0)
            for worker in [w for w in pool if w.conn in ready]:
                if not worker.receive():
                    worker.bury()
                    pool.remove(worker)
    except BaseException:  # Ctrl-C: stop the workers, keep what they sent, fail what they were running
        for worker in pool:
            worker.process.kill()
        for worker in pool:
            worker.process.wait()
            worker.receive()
            worker.bury("interrupted: the sweep was stopped during this run")
        pool.clear()
        raise
    finally:
        _close(pool)


class _Worker:
    """One worker process, the driver's end of its socket, and the job it is running."""

    def __init__(self, threads: int):
        ours, theirs = socket.socketpair()
        # The worker imports what this process can: initlab, the user's models and the callbacks'
        # modules (it also starts in this process's current directory).
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(search_path())}
        with theirs:
            args = [str(theirs.fileno()), str(threads), str(os.getpid())]
            self.process = subprocess.Popen(
                [sys.executable, "-m", "initlab.sweep.worker", *args],
                pass_fds=[theirs.fileno()],
                env=env,
                stdin=subprocess.DEVNULL,
            )
        self.conn = Connection(ours.detach())
        self.job: Job | None = None
        self.tracked: TrackingSink | None = None

    def assign(self, job: Job, sink: RunSink) -> None:
        self.job, self.tracked = job, TrackingSink(sink)
        self.conn.send(job)

    def receive(self) -> bool:
        """Replay every message waiting on the socket; False once the worker is gone."""
        try:
            while self.conn.poll():
                message = self.conn.recv()
                if message == DONE:
                    self.job = self.tracked = None
                else:
                    assert self.tracked is not None
                    replay(message, self.tracked)
        except (EOFError, OSError):
            return False
        return True

    def bury(self, reason: str | None = None) -> None:
        """After the worker is gone: fail the runs of its job that had not ended, close its socket."""
        if self.job is not None and self.tracked is not None:
            fail_unended(self.job, self.tracked, reason or f"{self.death()} during this run")
        self.job = self.tracked = None
        self.conn.close()

    def death(self) -> str:
        """Why the worker is gone, from its exit status."""
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return "the worker process stopped answering"
        if code < 0:
            return f"the worker process was killed by {signal.Signals(-code).name}"
        return f"the worker process exited with status {code}"


def _close(pool: list[_Worker]) -> None:
    """Ask the (idle) workers to exit, and make sure each one is gone."""
    for worker in pool:
        with contextlib.suppress(OSError):
            worker.conn.send(None)
    for worker in pool:
        try:
            worker.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait(timeout=5)
        worker.conn.close()
