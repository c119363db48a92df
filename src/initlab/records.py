"""The plain records a run emits, and the sink that receives them.

``train`` emits; a sink keeps. The store is one sink (it writes SQLite); a sweep worker's sink sends
the records to the driver, the store's one writer. Neither side imports the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, Protocol

RunStatus = Literal["running", "finished", "diverged", "failed"]
END_STATUSES: tuple[RunStatus, ...] = ("finished", "diverged", "failed")


class MetricRow(NamedTuple):
    """One scalar: e.g. (epoch 3, step 1404, "val", "accuracy", 0.97)."""

    epoch: int
    step: int
    split: str
    name: str
    value: float


class ProbeRow(NamedTuple):
    """One tidy probe measurement: one row per layer per step per quantity."""

    step: int
    layer: str
    name: str
    value: float


@dataclass(frozen=True)
class RunStart:
    """What is known when a run starts."""

    id: str
    config: dict[str, Any]
    config_hash: str
    seed: int
    device: str
    started_at: float
    initlab_version: str
    torch_version: str


@dataclass(frozen=True)
class RunEnd:
    """How a run ended."""

    status: RunStatus
    ended_at: float
    seconds: float
    reason: str | None = None
    diverged_step: int | None = None
    summary: dict[str, float] = field(default_factory=dict)


class RunSink(Protocol):
    """Receives a run's records in order: start, any metrics and probe rows, end."""

    def start_run(self, start: RunStart) -> None: ...

    def write_metrics(self, run_id: str, rows: Sequence[MetricRow]) -> None: ...

    def write_probe_rows(self, run_id: str, probe: str, rows: Sequence[ProbeRow]) -> None: ...

    def end_run(self, run_id: str, end: RunEnd) -> None: ...


class MemorySink:
    """A sink that keeps everything in lists (for tests and notebook use)."""

    def __init__(self) -> None:
        self.starts: list[RunStart] = []
        self.metrics: dict[str, list[MetricRow]] = {}
        self.probe_rows: dict[str, dict[str, list[ProbeRow]]] = {}
        self.ends: dict[str, RunEnd] = {}

    def start_run(self, start: RunStart) -> None:
        self.starts.append(start)

    def write_metrics(self, run_id: str, rows: Sequence[MetricRow]) -> None:
        self.metrics.setdefault(run_id, []).extend(rows)

    def write_probe_rows(self, run_id: str, probe: str, rows: Sequence[ProbeRow]) -> None:
        self.probe_rows.setdefault(run_id, {}).setdefault(probe, []).extend(rows)

    def end_run(self, run_id: str, end: RunEnd) -> None:
        self.ends[run_id] = end
