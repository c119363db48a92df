"""Jobs in one process: records as messages and back, failures recorded not raised, vmap grouping."""

from __future__ import annotations

import pickle

import pytest

from initlab.config import RunConfig
from initlab.errors import ConfigError
from initlab.records import MemorySink
from initlab.sweep.jobs import Job, Message, MessageSink, make_jobs, replay, run_job
from initlab.train import resolve_config, train
from sweep_helpers import RaiseAtStep

BLOBS = {
    "dataset": "synthetic-blobs",
    "dataset_params": {"n": 400},
    "model": "mlp",
    "epochs": 1,
    "log_every": 3,
}


def run_through_messages(job: Job) -> tuple[list[Message], MemorySink]:
    """Run ``job`` as a worker does; deliver its pickled messages as the driver does."""
    messages: list[Message] = []
    run_job(job, MessageSink(messages.append))
    sink = MemorySink()
    for message in messages:
        replay(pickle.loads(pickle.dumps(message)), sink)
    return messages, sink


def test_records_travel_as_messages_unchanged() -> None:
    config = resolve_config(RunConfig(**BLOBS, seed=5))
    messages, sink = run_through_messages(Job("loop", (config,), ("r1",)))
    assert [m[0] for m in messages[:2]] == ["start_run", "write_metrics"] and messages[-1][0] == "end_run"
    direct = MemorySink()
    train(config, sink=direct, run_id="r1")
    assert [m for m in sink.metrics["r1"] if m.name != "seconds"] == [
        m for m in direct.metrics["r1"] if m.name != "seconds"
    ]
    assert sink.starts[0].config_hash == config.key() and sink.ends["r1"].status == "finished"
    with pytest.raises(ValueError, match="not a record message: 'delete_run'"):
        replay(("delete_run", ("r1",)), sink)


def test_a_run_that_fails_before_it_starts_is_recorded_with_its_traceback() -> None:
    config = RunConfig(**{**BLOBS, "model": "mnist-fnn"}, seed=1)  # 784 inputs; blobs have 16
    _, sink = run_through_messages(Job("loop", (config,), ("r2",)))
    (start,) = sink.starts
    assert (start.id, start.config_hash, start.device) == ("r2", config.key(), "cpu")
    end = sink.ends["r2"]
    assert end.status == "failed" and end.summary == {}
    assert end.reason.startswith("ConfigError: model 'mnist-fnn' takes inputs of shape (1, 28, 28)")
    assert "Traceback (most recent call last)" in end.reason and "build_initialized_model" in end.reason


def test_a_run_that_raises_mid_way_keeps_its_records_and_its_traceback() -> None:
    config = RunConfig(**BLOBS, seed=2)
    _, sink = run_through_messages(Job("loop", (config,), ("r3",), callbacks=(RaiseAtStep(seed=2, step=1),)))
    end = sink.ends["r3"]
    assert end.status == "failed" and end.reason.startswith("RuntimeError: injected failure at step 1")
    assert [m.epoch for m in sink.metrics["r3"] if (m.split, m.name) == ("test", "accuracy")] == [0]


def test_vmap_jobs_group_the_seeds_of_each_config() -> None:
    configs = [
        RunConfig(**BLOBS, init=init, seed=s) for init in ("zeros", "pytorch-default") for s in (0, 1, 2)
    ]
    configs.append(RunConfig(**BLOBS, lr=0.1))
    jobs = make_jobs(configs, [f"r{i}" for i in range(7)], "vmap")
    assert [(j.engine, j.run_ids) for j in jobs] == [
        ("vmap", ("r0", "r1", "r2")),
        ("vmap", ("r3", "r4", "r5")),
        ("loop", ("r6",)),  # a lone seed: the plain loop is the same run
    ]
    assert [(j.engine, j.run_ids) for j in make_jobs(configs[:2], ["a", "b"], "loop")] == [
        ("loop", ("a",)),
        ("loop", ("b",)),
    ]
    with pytest.raises(ConfigError, match="engine 'vmap' runs no callbacks"):
        make_jobs(configs, [str(i) for i in range(7)], "vmap", callbacks=[RaiseAtStep(0, 0)])


def test_a_vmap_job_trains_its_seeds_in_one_go() -> None:
    configs = tuple(RunConfig(**BLOBS, seed=s) for s in (0, 1))
    messages, sink = run_through_messages(Job("vmap", configs, ("a", "b")))
    assert [m[0] for m in messages[:2]] == ["start_run", "start_run"]  # both seeds start at once
    assert {s.seed for s in sink.starts} == {0, 1}
    assert [sink.ends[r].status for r in ("a", "b")] == ["finished", "finished"]
