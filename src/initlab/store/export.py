"""Export the store to CSV: one file of runs (config and final metrics flattened), one of metrics."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from initlab.store.db import Store


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"init_params": {"scale": 1}}`` -> ``{"init_params.scale": 1}``."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def export_csv(store: Store, directory: str | Path) -> list[Path]:
    """Write ``runs.csv``, ``metrics.csv`` and, if any, ``probe_rows.csv`` into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    runs = store.runs()
    run_rows = [
        {
            "id": r.id,
            "status": r.status,
            "config_hash": r.config_hash,
            "seed": r.seed,
            "device": r.device,
            "started_at": r.started_at,
            "seconds": r.seconds,
            "diverged_step": r.diverged_step,
            "reason": (r.reason or "").split("\n", 1)[0],
            **flatten(r.config, "config."),
            **flatten(r.summary, "final."),
        }
        for r in runs
    ]
    written = [write_csv(directory / "runs.csv", run_rows)]
    written.append(
        write_csv(
            directory / "metrics.csv",
            [{"run_id": r.id, **m._asdict()} for r in runs for m in store.metrics(r.id)],
            header=["run_id", "epoch", "step", "split", "name", "value"],
        )
    )
    probe_rows = [
        {"run_id": r.id, "probe": p, **row._asdict()} for r in runs for p, row in store.probe_rows(r.id)
    ]
    if probe_rows:
        written.append(write_csv(directory / "probe_rows.csv", probe_rows))
    return written


def write_csv(path: Path, rows: list[dict[str, Any]], header: list[str] | None = None) -> Path:
    """Write ``rows`` to ``path`` as CSV; the columns are ``header`` or the rows' keys in first-seen order."""
    columns = header or list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path
