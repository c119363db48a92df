"""The Ray executor: each job a Ray task, on a local Ray instance or an existing cluster.

``pip install 'initlab[ray]'``. Without an address, a local Ray instance is started with
``workers × num_cpus`` CPUs and shut down at the end; with one (``ray start --head`` prints it;
``auto`` finds a cluster started on this machine), the sweep runs on that cluster, as wide as it is.
Every node needs initlab (and its data) installed, as on the driver; how the driver reaches a
cluster (token, loopback) and how tasks import the user's models is :mod:`initlab.sweep.ray_cluster`.

A task asks Ray for ``num_cpus`` CPUs and runs torch with as many threads. It trains its job with a
sink that keeps the records in a list and returns them; the driver replays them into the store, which
it alone writes. So a task Ray retries after its worker died (``max_retries``) leaves no partial
rows behind, and a run appears in the store once its task is done. A task that still fails after its
retries fails its runs, with Ray's error; a run that raises is recorded as failed by the task itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from initlab.records import RunSink
from initlab.sweep.jobs import Job, Message, MessageSink, TrackingSink, fail_unended, replay, run_job
from initlab.sweep.ray_cluster import connect, import_ray


def train_job(job: Job, threads: int) -> list[Message]:
    """The Ray task: run ``job`` with ``threads`` torch threads; return its records as messages."""
    torch.set_num_threads(threads)
    messages: list[Message] = []
    run_job(job, MessageSink(messages.append))
    return messages


def run_ray(
    jobs: Sequence[Job],
    sink: RunSink,
    *,
    address: str | None,
    workers: int,
    num_cpus: float,
    max_retries: int,
) -> None:
    """Run ``jobs`` as Ray tasks, replaying each task's records into ``sink`` as it completes."""
    if not jobs:
        return
    ray = import_ray()
    owned = not ray.is_initialized()
    if owned:
        connect(ray, address, workers * num_cpus)
    task = ray.remote(train_job).options(num_cpus=num_cpus, max_retries=max_retries)
    threads = max(1, int(num_cpus))
    pending = {task.remote(job, threads): job for job in jobs}
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                job = pending.pop(ref)
                tracked = TrackingSink(sink)
                try:
                    messages = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    reason = f"its Ray task failed after {max_retries} retries: {type(exc).__name__}: {exc}"
                    fail_unended(job, tracked, reason)
                    continue
                for message in messages:
                    replay(message, tracked)
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    finally:
        if owned:
            ray.shutdown()
