"""The results store: every run, metric and probe row in one SQLite file (WAL mode).

A run's row is written when it starts (status ``running``), its metrics as they come, and its end
(``finished``/``diverged``/``failed`` with the reason) when it ends; each write is one transaction,
so a reader never sees half a write, and a run killed mid-way stays ``running``, never ``finished``.
Opening a file first checks, read-only, that it is an intact initlab store (:mod:`.identity`): another
program's database or a damaged file is refused before anything is written to it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from initlab.errors import ConfigError, one_of
from initlab.records import END_STATUSES, MetricRow, ProbeRow, RunEnd, RunStart, RunStatus
from initlab.store.identity import StoreState, check_store
from initlab.store.schema import APPLICATION_ID, MIGRATIONS, SCHEMA, SCHEMA_VERSION

DEFAULT_PATH = Path("results/initlab.db")
STATUSES: tuple[RunStatus, ...] = ("running", *END_STATUSES)


@dataclass(frozen=True)
class RunRecord:
    """One row of ``runs``, decoded."""

    id: str
    config: dict[str, Any]
    config_hash: str
    seed: int
    status: RunStatus
    reason: str | None
    diverged_step: int | None
    started_at: float
    ended_at: float | None
    seconds: float | None
    initlab_version: str
    torch_version: str
    device: str
    summary: dict[str, float]

    @property
    def dataset(self) -> str:
        return self.config["dataset"]

    @property
    def model(self) -> str:
        return self.config["model"]

    @property
    def init(self) -> str:
        return self.config["init"]


_RUN_COLUMNS = [f for f in RunRecord.__dataclass_fields__]


class Store:
    """A results database at ``path`` (created with its folder if missing, unless ``create=False``).
    Implements ``RunSink``."""

    def __init__(self, path: str | Path = DEFAULT_PATH, *, create: bool = True):
        """Open the store at ``path``: check it is an intact initlab store (read-only), then open it
        in WAL mode and bring its schema up to date. ``create=False`` refuses a missing store."""
        self.path = Path(path)
        state = check_store(self.path, create=create)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(self.path, timeout=60.0)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"store {str(self.path)!r} cannot be opened: {exc}") from None
        if version < SCHEMA_VERSION:
            # A new file gets the whole schema; an older one each migration since its version. The
            # scripts are idempotent (IF NOT EXISTS), so an interrupted migration is simply rerun.
            scripts = (
                [SCHEMA] if version == 0 else [MIGRATIONS[v] for v in range(version + 1, SCHEMA_VERSION + 1)]
            )
            for script in scripts:
                self.conn.executescript(script)
            self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        if state is not StoreState.MARKED:
            self.conn.execute(f"PRAGMA application_id={APPLICATION_ID}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        """A cursor inside one transaction: committed on success, rolled back on error."""
        with self.conn:
            yield self.conn.cursor()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writes (the RunSink protocol) -------------------------------------------------------------

    def start_run(self, start: RunStart) -> None:
        with self.transaction() as cur:
            _insert_run(cur, start)

    def restart_run(self, start: RunStart) -> None:
        """Start a run in place of its key's unfinished attempts (``running``/``failed`` rows, which
        are deleted with their metrics), in one transaction: the key never has two live rows."""
        with self.transaction() as cur:
            cur.execute(
                "DELETE FROM runs WHERE config_hash = ? AND status IN ('running', 'failed')",
                (start.config_hash,),
            )
            _insert_run(cur, start)

    def write_metrics(self, run_id: str, rows: Sequence[MetricRow]) -> None:
        with self.transaction() as cur:
            cur.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)", [(run_id, *r) for r in rows])

    def write_probe_rows(self, run_id: str, probe: str, rows: Sequence[ProbeRow]) -> None:
        with self.transaction() as cur:
            cur.executemany(
                "INSERT INTO probe_rows VALUES (?, ?, ?, ?, ?, ?)", [(run_id, probe, *r) for r in rows]
            )

    def end_run(self, run_id: str, end: RunEnd) -> None:
        with self.transaction() as cur:
            cur.execute(
                "UPDATE runs SET status=?, reason=?, diverged_step=?, ended_at=?, seconds=?, summary=?"
                " WHERE id=?",
                (
                    end.status,
                    end.reason,
                    end.diverged_step,
                    end.ended_at,
                    end.seconds,
                    json.dumps(end.summary, allow_nan=True),
                    run_id,
                ),
            )

    def record_sweep(self, name: str, keys: Sequence[str], spec: dict[str, Any] | None = None) -> None:
        """Name the runs of sweep ``name``: its points' config hashes in plan order (replacing any
        earlier plan of the same name), with its spec."""
        now = time.time()
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO sweeps (name, spec, created_at, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at",
                (name, None if spec is None else json.dumps(spec, sort_keys=True), now, now),
            )
            cur.execute("DELETE FROM sweep_runs WHERE sweep = ?", (name,))
            cur.executemany(
                "INSERT OR IGNORE INTO sweep_runs VALUES (?, ?, ?)",
                [(name, key, i) for i, key in enumerate(keys)],
            )

    def delete_run(self, run_id: str) -> None:
        """Remove a run and (by cascade) its metrics and probe rows, in one transaction."""
        with self.transaction() as cur:
            cur.execute("DELETE FROM runs WHERE id=?", (run_id,))

    # -- reads --------------------------------------------------------------------------------------

    def runs(self, *, status: str | None = None, sweep: str | None = None, **where: str) -> list[RunRecord]:
        """Runs in start order, optionally filtered by status, by sweep name and by
        dataset/model/init/config_hash."""
        allowed = ("dataset", "model", "init", "config_hash")
        clauses, args = [], []
        if sweep is not None:
            clauses.append("config_hash IN (SELECT config_hash FROM sweep_runs WHERE sweep = ?)")
            args.append(sweep)
        if status is not None:
            if status not in STATUSES:
                raise one_of("status", status, STATUSES)
            clauses.append("status = ?")
            args.append(status)
        for column, value in where.items():
            if column not in allowed:
                raise one_of("filter", column, allowed)
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        sql = f"SELECT {', '.join(_RUN_COLUMNS)} FROM runs"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        return [_decode_run(row) for row in self.conn.execute(sql + " ORDER BY started_at, id", args)]

    def key_statuses(self, keys: Sequence[str]) -> dict[str, RunStatus]:
        """Each key (config hash) that has runs, and its most final status.

        finished > diverged > failed > running: a key with one finished run reads as finished.
        """
        rank = {status: i for i, status in enumerate(("running", "failed", "diverged", "finished"))}
        found: dict[str, RunStatus] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            rows = self.conn.execute(
                f"SELECT config_hash, status FROM runs WHERE config_hash IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for key, status in rows:
                if key not in found or rank[status] > rank[found[key]]:
                    found[key] = status
        return found

    def run(self, run_id: str) -> RunRecord:
        """The run whose id is or starts with ``run_id`` (a unique prefix)."""
        rows = self.conn.execute(
            f"SELECT {', '.join(_RUN_COLUMNS)} FROM runs WHERE id LIKE ? ESCAPE '\\' LIMIT 2",
            (run_id.replace("%", "\\%").replace("_", "\\_") + "%",),
        ).fetchall()
        if len(rows) != 1:
            what = "no run" if not rows else "more than one run"
            raise ConfigError(f"{what} with id {run_id!r} in {str(self.path)!r}; see `initlab runs`")
        return _decode_run(rows[0])

    def metrics(self, run_id: str, *, split: str | None = None, name: str | None = None) -> list[MetricRow]:
        sql, args = "SELECT epoch, step, split, name, value FROM metrics WHERE run_id = ?", [run_id]
        for column, value in (("split", split), ("name", name)):
            if value is not None:
                sql += f" AND {column} = ?"
                args.append(value)
        return [MetricRow(*row) for row in self.conn.execute(sql + " ORDER BY rowid", args)]

    def probe_rows(
        self,
        run_id: str,
        probe: str | None = None,
        *,
        layer: str | None = None,
        name: str | None = None,
    ) -> list[tuple[str, ProbeRow]]:
        """``(probe, row)`` pairs of a run, in write order, optionally only one probe, layer or quantity."""
        sql, args = "SELECT probe, step, layer, name, value FROM probe_rows WHERE run_id = ?", [run_id]
        for column, value in (("probe", probe), ("layer", layer), ("name", name)):
            if value is not None:
                sql += f" AND {column} = ?"
                args.append(value)
        return [(row[0], ProbeRow(*row[1:])) for row in self.conn.execute(sql + " ORDER BY rowid", args)]


def _insert_run(cur: sqlite3.Cursor, start: RunStart) -> None:
    cur.execute(
        "INSERT INTO runs (id, config, config_hash, seed, status, started_at, initlab_version,"
        " torch_version, device) VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?)",
        (
            start.id,
            json.dumps(start.config, sort_keys=True),
            start.config_hash,
            start.seed,
            start.started_at,
            start.initlab_version,
            start.torch_version,
            start.device,
        ),
    )


def _decode_run(row: Sequence[Any]) -> RunRecord:
    values = dict(zip(_RUN_COLUMNS, row, strict=True))
    values["config"] = json.loads(values["config"])
    values["summary"] = json.loads(values["summary"])
    return RunRecord(**values)
