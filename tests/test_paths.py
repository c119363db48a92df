"""Output paths are checked before any work, and checking them leaves nothing behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from initlab.errors import ConfigError
from initlab.paths import check_output_file, check_output_folder

UNWRITABLE = Path("/proc/initlab-test")  # the kernel's file system: no new entries, not even for root


def test_usable_paths_pass_and_nothing_is_left_behind(tmp_path: Path) -> None:
    (tmp_path / "old.png").write_bytes(b"x")
    check_output_file(tmp_path / "old.png", "--plot file")
    check_output_file(tmp_path / "a" / "b" / "new.png", "--plot file")
    check_output_folder(tmp_path, "--out folder")
    check_output_folder(tmp_path / "c" / "d", "--out folder")
    assert sorted(os.listdir(tmp_path)) == ["old.png"]


def test_a_path_under_a_file_is_refused_naming_both(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(
        ConfigError, match=r"--plot file '.*/f/x/p\.png' cannot be written: '.*/f' is not a directory"
    ):
        check_output_file(tmp_path / "f" / "x" / "p.png", "--plot file")
    with pytest.raises(
        ConfigError, match=r"--out folder '.*/f/x' cannot be written: '.*/f' is not a directory$"
    ):
        check_output_folder(tmp_path / "f" / "x", "--out folder")


def test_a_file_where_a_folder_goes_and_a_folder_where_a_file_goes_are_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(ConfigError, match=r"--csv folder '.*/f' is not a directory$"):
        check_output_folder(tmp_path / "f", "--csv folder")
    with pytest.raises(ConfigError, match=r"store '.*' is a directory; give a file path$"):
        check_output_file(tmp_path, "store")


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux's /proc")
def test_a_folder_that_cannot_take_new_entries_is_refused() -> None:
    with pytest.raises(
        ConfigError, match=r"--out folder '/proc/initlab-test/r' cannot be written: '/proc': "
    ):
        check_output_folder(UNWRITABLE / "r", "--out folder")
    with pytest.raises(ConfigError, match=r"store '/proc/initlab-test/r.db' cannot be written: '/proc': "):
        check_output_file(UNWRITABLE / "r.db", "store")
