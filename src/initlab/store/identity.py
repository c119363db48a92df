"""Is this file an initlab store, and is it whole? Asked read-only, before anything writes to it.

An initlab store carries SQLite's ``application_id`` (:data:`APPLICATION_ID`) and the tables of
:mod:`initlab.store.schema`. Stores made before the id existed carry 0 and are recognised by their
tables. A file that is another program's database, not a database at all, or damaged is refused with
one line naming the file, and is left exactly as it was: not written, not switched to WAL mode.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from enum import Enum
from pathlib import Path
from urllib.parse import quote

from initlab.errors import ConfigError
from initlab.paths import check_output_file
from initlab.store.schema import APPLICATION_ID, RUN_TABLES, SCHEMA, SCHEMA_VERSION

SQLITE_HEADER = b"SQLite format 3\x00"
WAL_MODE = b"\x02\x02"  # header bytes 18-19 of a database in WAL mode


class StoreState(Enum):
    """What opening a store has to do first."""

    NEW = "new"  # no file, an empty file or an empty database: create the schema
    UNMARKED = "unmarked"  # an initlab store from before APPLICATION_ID: set the id
    MARKED = "marked"  # an initlab store with its id


def check_store(path: str | Path, *, create: bool) -> StoreState:
    """The state of the store at ``path``, or a ConfigError naming the file if it cannot be used.

    ``create=False`` (commands that only read) refuses a missing store instead of making one.
    Nothing is written: an existing file is opened read-only.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"store {str(path)!r} is a directory; give a file, e.g. results/initlab.db")
    if not os.path.lexists(path):
        if not create:
            raise ConfigError(f"store {str(path)!r} does not exist; give --store PATH of a results database")
        check_output_file(path, "store")
        return StoreState.NEW
    if create:
        check_output_file(path, "store")
    try:
        with path.open("rb") as f:
            header = f.read(20)
    except OSError as exc:
        raise ConfigError(f"store {str(path)!r} cannot be read: {exc.strerror}") from None
    if not header:
        if create:
            return StoreState.NEW
        raise ConfigError(f"store {str(path)!r} is an empty file, not a results database")
    if header[: len(SQLITE_HEADER)] != SQLITE_HEADER:
        raise ConfigError(f"store {str(path)!r} is not an initlab store: not a SQLite database")
    state = _database_state(path, wal=header[18:20] == WAL_MODE)
    if state is StoreState.NEW and not create:
        raise ConfigError(f"store {str(path)!r} is an empty database, not a results database")
    return state


def _database_state(path: Path, *, wal: bool) -> StoreState:
    """:func:`_check_database`, remembered while the file is unchanged, and tried twice if the file
    changed while it was read."""
    key, signature = path.resolve(), _signature(path)
    known = _checked.get(key)
    if known is not None and known[0] == signature:
        return known[1]
    for attempt in (1, 2):
        try:
            state = _check_database(path, wal=wal)
            break
        except (sqlite3.DatabaseError, ConfigError) as exc:
            # A file written while it was read (another driver starting on it) may look damaged
            # to the read of the bare file: it is checked once more, now through its log.
            if attempt == 2 or _signature(path) == signature:
                if isinstance(exc, ConfigError):
                    raise
                found = " ".join(str(exc).split())
                raise ConfigError(f"store {str(path)!r} is corrupt or unreadable: {found}") from None
            signature = _signature(path)
    _checked[key] = (signature, state)
    return state


#: Files this process found intact, by path: their signature then, and their state. A command checks
#: its store before any work and opens it later; the second check reads it again only if it changed.
_checked: dict[Path, tuple[tuple[int, ...], StoreState]] = {}


def _signature(path: Path) -> tuple[int, ...]:
    """What changes when the file or its write-ahead log is written: their inode, size and mtime."""
    numbers: list[int] = []
    for name in (str(path), f"{path}-wal"):
        try:
            info = os.stat(name)
        except FileNotFoundError:
            numbers.append(-1)
        else:
            numbers += [info.st_ino, info.st_size, info.st_mtime_ns]
    return tuple(numbers)


def _check_database(path: Path, *, wal: bool) -> StoreState:
    """The identity, schema and integrity checks, on a read-only connection.

    A read-only connection to a database in WAL mode would still create its ``-wal`` and ``-shm``
    files; when they do not exist (no connection is open, every write is in the file), the file
    is opened as immutable instead, so that checking a file creates nothing beside it.
    """
    live = os.path.lexists(f"{path}-wal")
    mode = "ro&immutable=1" if wal and not live else "ro"
    uri = f"file:{quote(str(path.resolve()))}?mode={mode}"
    conn = sqlite3.connect(uri, uri=True, timeout=60.0)
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if app_id not in (0, APPLICATION_ID):
            raise ConfigError(
                f"store {str(path)!r} is not an initlab store: its application id is {app_id:#x}, "
                f"an initlab store's is {APPLICATION_ID:#x}"
            )
        if version > SCHEMA_VERSION:
            raise ConfigError(
                f"store {str(path)!r} has schema version {version}; "
                f"this initlab reads versions up to {SCHEMA_VERSION}"
            )
        tables = _columns(conn)
        if not tables and app_id == 0 and version == 0:
            return StoreState.NEW
        _check_tables(path, tables)
        problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)")]
        if problems != ["ok"]:
            found = "; ".join(" ".join(problem.split()) for problem in problems)
            raise ConfigError(f"store {str(path)!r} is corrupt: {found}")
    finally:
        conn.close()
    return StoreState.MARKED if app_id == APPLICATION_ID else StoreState.UNMARKED


def _check_tables(path: Path, tables: dict[str, tuple[str, ...]]) -> None:
    """Refuse a database whose tables are not initlab's: the run tables must exist, and every
    initlab table it has must have initlab's columns."""
    missing = [name for name in _schema_columns(RUN_TABLES) if name not in tables]
    different = [
        name for name, columns in _schema_columns(SCHEMA).items() if tables.get(name, columns) != columns
    ]
    if missing or different:
        found = ", ".join(sorted(tables)) or "none"
        what = f"no table {missing[0]!r}" if missing else f"table {different[0]!r} has other columns"
        raise ConfigError(f"store {str(path)!r} is not an initlab store: {what} (its tables: {found})")


@functools.cache
def _schema_columns(script: str) -> dict[str, tuple[str, ...]]:
    """The tables a schema script creates, with their column names."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(script)
        return _columns(conn)
    finally:
        conn.close()


def _columns(conn: sqlite3.Connection) -> dict[str, tuple[str, ...]]:
    """Every table of ``conn``'s database, with its column names (generated columns included)."""
    names = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {
        name: tuple(row[0] for row in conn.execute("SELECT name FROM pragma_table_xinfo(?)", (name,)))
        for name in names
    }
