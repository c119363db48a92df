"""A local sweep worker: ``python -m initlab.sweep.worker FD THREADS PARENT_PID``.

It runs the jobs the driver sends over the socket ``FD`` (a ``multiprocessing`` connection), with
``THREADS`` torch threads, and sends back each job's records, then ``DONE``. It exits when the
driver sends None or goes away, and dies with the driver even when the driver is SIGKILLed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection

import torch

from initlab.sweep.jobs import DONE, MessageSink, run_job

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def exit_with_parent(parent_pid: int) -> None:
    """Make this process die with the driver ``parent_pid``, even when the driver is SIGKILLed.

    On Linux the kernel sends SIGKILL when the parent dies (``prctl(PR_SET_PDEATHSIG)``); elsewhere
    a watchdog thread exits once the process has been re-parented.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the driver died before the line above took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="parent-watch", daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os._exit(1)


def serve(conn: Connection, threads: int) -> None:
    """Run the jobs received on ``conn`` until None arrives or the driver goes away."""
    torch.set_num_threads(threads)
    sink = MessageSink(conn.send)
    try:
        while (job := conn.recv()) is not None:
            run_job(job, sink)
            conn.send(DONE)
    except (EOFError, OSError):  # the driver has gone
        pass


def main(argv: list[str]) -> None:
    fd, threads, parent_pid = (int(a) for a in argv)
    exit_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    conn = Connection(fd)
    serve(conn, threads)
    conn.close()
    os._exit(0)  # everything is sent; skip the interpreter's teardown of torch (most of a second)


if __name__ == "__main__":
    main(sys.argv[1:])
