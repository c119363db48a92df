"""Opening a store checks that it is an intact initlab store, and leaves a file it refuses untouched."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from initlab.errors import ConfigError
from initlab.store import Store, check_store, identity
from initlab.store.identity import StoreState
from initlab.store.schema import APPLICATION_ID, SCHEMA_VERSION
from store_files import damage, fingerprint, make_foreign, make_store


def _pragma(path: Path, name: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


def test_a_new_store_carries_initlab_s_id_and_is_in_wal_mode(tmp_path: Path) -> None:
    path = make_store(tmp_path / "new" / "r.db")
    assert _pragma(path, "application_id") == APPLICATION_ID
    assert _pragma(path, "user_version") == SCHEMA_VERSION
    assert path.read_bytes()[18:20] == b"\x02\x02"  # WAL mode, in the file header
    assert check_store(path, create=False) is StoreState.MARKED


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (make_foreign, "is not an initlab store: no table 'metrics' (its tables: runs)"),
        (lambda p: damage(make_store(p)), "is corrupt"),
        (lambda p: p.write_bytes(make_store(p).read_bytes()[: 3 * 4096]), "is corrupt or unreadable"),
        (lambda p: p.write_text("runs\n" * 100), "is not an initlab store: not a SQLite database"),
    ],
    ids=["foreign", "damaged", "truncated", "text"],
)
def test_a_foreign_or_corrupt_file_is_refused_and_left_untouched(tmp_path: Path, make, message: str) -> None:
    path = tmp_path / "r.db"
    make(path)
    before = fingerprint(path)
    header = path.read_bytes()[:100]
    for create in (True, False):
        with pytest.raises(ConfigError, match=re.escape(message)) as info:
            Store(path, create=create)
        assert repr(str(path)) in str(info.value) and "\n" not in str(info.value)
    assert fingerprint(path) == before  # same bytes, no -wal or -shm beside it
    assert path.read_bytes()[:100] == header  # not switched to WAL mode


def test_another_program_s_database_is_refused_by_its_application_id(tmp_path: Path) -> None:
    path = make_store(tmp_path / "r.db")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id=1234")
    conn.close()
    with pytest.raises(ConfigError, match=r"its application id is 0x4d2, an initlab store's is 0x494c4142$"):
        Store(path)


def test_a_store_from_a_newer_initlab_is_refused(tmp_path: Path) -> None:
    path = make_store(tmp_path / "r.db")
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ConfigError, match=f"has schema version {SCHEMA_VERSION + 1}"):
        Store(path)


def test_a_store_made_before_the_id_opens_and_gets_it(tmp_path: Path) -> None:
    path = make_store(tmp_path / "r.db")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id=0")
    conn.close()
    assert check_store(path, create=False) is StoreState.UNMARKED
    with Store(path, create=False) as store:
        assert [r.id for r in store.runs()] == ["run0"]
    assert _pragma(path, "application_id") == APPLICATION_ID


def test_a_missing_store_is_created_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "r.db"
    with pytest.raises(ConfigError, match="does not exist"):
        Store(path, create=False)
    assert not path.parent.exists()
    with Store(path) as store:
        assert store.runs() == []
    assert path.is_file()


def test_an_empty_file_is_a_new_store_for_writing_but_refused_for_reading(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    path.touch()
    with pytest.raises(ConfigError, match="is an empty file"):
        Store(path, create=False)
    assert path.stat().st_size == 0
    with Store(path) as store:
        assert store.runs() == []
    assert _pragma(path, "application_id") == APPLICATION_ID


def test_a_store_in_use_is_checked_from_its_wal(tmp_path: Path) -> None:
    """A second opener (a second sweep driver) checks the store while the first has it open."""
    path = make_store(tmp_path / "r.db")
    with Store(path) as first:
        first.delete_run("run0")
        with Store(path) as second:
            assert second.runs() == []


def test_a_store_damaged_after_a_check_is_refused_at_the_next(tmp_path: Path) -> None:
    """A command checks its store before work and opens it later: a change in between is seen."""
    path = make_store(tmp_path / "r.db")
    assert check_store(path, create=True) is StoreState.MARKED
    damage(path)
    with pytest.raises(ConfigError, match="is corrupt"):
        Store(path)


def test_a_store_written_while_it_is_checked_is_checked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read of the bare file can look damaged while another driver checkpoints into it."""
    path = make_store(tmp_path / "r.db")
    real, calls = identity._check_database, []

    def written_meanwhile(where: Path, *, wal: bool) -> StoreState:
        calls.append(wal)
        if len(calls) == 1:
            other = sqlite3.connect(path)
            with other:
                other.execute("DELETE FROM metrics")
            other.close()
            raise sqlite3.DatabaseError("database disk image is malformed")
        return real(where, wal=wal)

    monkeypatch.setattr(identity, "_check_database", written_meanwhile)
    assert check_store(path, create=True) is StoreState.MARKED and len(calls) == 2


def test_an_empty_database_is_a_new_store_for_writing_but_refused_for_reading(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.execute("DROP TABLE t")  # pages, but no tables
    conn.close()
    before = fingerprint(path)
    assert check_store(path, create=True) is StoreState.NEW  # remembered, but not for reading:
    with pytest.raises(ConfigError, match="is an empty database"):
        Store(path, create=False)
    assert fingerprint(path) == before
    with Store(path) as store:
        assert store.runs() == []
