"""Store files for the tests of bad stores: a real one written without training, a foreign SQLite
database, a damaged copy, and a fingerprint to check that a refused file was left as it was."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from pathlib import Path

from initlab.records import MetricRow, RunStart
from initlab.store import Store

PAGE = 4096


def make_store(path: Path, metrics: int = 2000) -> Path:
    """An initlab store with one run and ``metrics`` metric rows (enough for many pages)."""
    start = RunStart(
        id="run0",
        config={"dataset": "digits", "model": "mlp", "init": "zeros", "epochs": 1},
        config_hash="hash0",
        seed=0,
        device="cpu",
        started_at=time.time(),
        initlab_version="test",
        torch_version="test",
    )
    with Store(path) as store:
        store.start_run(start)
        store.write_metrics("run0", [MetricRow(0, i, "train", "loss", 1.0 / (i + 1)) for i in range(metrics)])
    return path


def make_foreign(path: Path) -> Path:
    """Another program's SQLite database, with a ``runs`` table of its own."""
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, distance REAL)")
        conn.execute("INSERT INTO runs (distance) VALUES (5.0)")
    conn.close()
    return path


def damage(path: Path) -> Path:
    """Overwrite the file's third page (a b-tree page of the store) with garbage."""
    data = bytearray(path.read_bytes())
    assert len(data) > 4 * PAGE, "the store is too small to damage one page"
    data[2 * PAGE : 3 * PAGE] = b"\xab" * PAGE
    path.write_bytes(bytes(data))
    return path


def fingerprint(path: Path) -> tuple[str | None, list[str]]:
    """The file's SHA-256 (None if missing) and the names beside it that share its name (-wal, -shm)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
    siblings = sorted(n for n in os.listdir(path.parent) if n.startswith(path.name) and n != path.name)
    return digest, siblings
