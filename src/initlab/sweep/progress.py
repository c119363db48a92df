"""The driver's display: a progress bar over a sweep's runs with an ETA, and one line per run."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from initlab.records import END_STATUSES, RunEnd


def first_line(text: str | None) -> str:
    return (text or "").split("\n", 1)[0]


def describe_end(label: str, end: RunEnd) -> str:
    """One line for a run that ended: status, label, test accuracy or why it stopped, time."""
    line = f"{end.status:<9} {label}"
    if end.status == "failed":
        return f"{line}  {first_line(end.reason)}"
    accuracy = end.summary.get("test_accuracy")
    if accuracy is not None:
        line += f"  test acc {accuracy:.4f}"
    if end.status == "diverged":
        line += f"  (non-finite loss at step {end.diverged_step})"
    return f"{line}  {end.seconds:.1f} s"


class SweepProgress:
    """A rich progress bar on ``console`` (nothing when None) over ``total`` runs, the statuses of
    those already done given in ``done``.

    The ETA is the sweep's average rate so far (rich's estimate over the whole sweep, not the last
    30 s, since runs take long and end in bursts).
    """

    def __init__(self, console: Console | None, name: str, total: int, done: Sequence[str]):
        self.name = name
        self.counts = {status: done.count(status) for status in END_STATUSES}
        self.progress: Progress | None = None
        if console is not None:
            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("runs"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=console,
                speed_estimate_period=24 * 3600,
            )
            self.task: TaskID = self.progress.add_task(self._description(), total=total, completed=len(done))

    def _description(self) -> str:
        counts = " · ".join(f"{n} {status}" for status, n in self.counts.items())
        return f"{self.name}: {counts}"

    def run_ended(self, label: str, end: RunEnd) -> None:
        self.counts[end.status] = self.counts.get(end.status, 0) + 1
        if self.progress is not None:
            self.progress.console.print(describe_end(label, end), markup=False, highlight=False)
            self.progress.update(self.task, advance=1, description=self._description())

    def __enter__(self) -> SweepProgress:
        if self.progress is not None:
            self.progress.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.progress is not None:
            self.progress.__exit__(kind, exc, tb)
