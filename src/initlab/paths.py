"""Checks that a path the user names can be written, made before any work starts.

A command that will write a file (a store, a plot) or a folder (CSV exports, a report) checks its
path first, so that an unusable one (its folder is a file, a read-only or virtual file system, no
permission) is one :class:`ConfigError` naming the path and why, before a header is printed, a run
trained or a store written, rather than an ``OSError`` after the work. The checks create nothing
that stays: whether a folder accepts new entries is tested by making and removing an empty folder in
it, since only trying tells (root passes every permission test, yet cannot write under ``/proc``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from initlab.errors import ConfigError


def check_output_file(path: str | Path, what: str) -> None:
    """Refuse ``path`` unless a file can be written there: an existing writable file, or a new one
    in a folder that exists or can be created. ``what`` names the file in the message ("store")."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{what} {str(path)!r} is a directory; give a file path")
    if os.path.lexists(path):
        if not path.is_file():
            raise ConfigError(f"{what} {str(path)!r} is not a regular file; give a file path")
        if not os.access(path, os.W_OK):
            raise ConfigError(f"{what} {str(path)!r} is not writable")
        return
    _check_can_create(path.parent, path, what)


def check_output_folder(path: str | Path, what: str) -> None:
    """Refuse ``path`` unless files can be written in it: a writable folder, or one that can be
    created. ``what`` names the folder in the message ("--csv folder")."""
    path = Path(path)
    if os.path.lexists(path) and not path.is_dir():
        raise ConfigError(f"{what} {str(path)!r} is not a directory")
    _check_can_create(path, path, what)


def _check_can_create(folder: Path, target: Path, what: str) -> None:
    """Whether ``folder`` (existing or not) can hold new entries: its nearest existing ancestor must
    be a folder in which a new folder can be made."""
    existing = folder
    while not os.path.lexists(existing):
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{what} {str(target)!r} cannot be written: {str(existing)!r} is not a directory")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".initlab-check-", dir=existing))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"{what} {str(target)!r} cannot be written: {str(existing)!r}: {reason}") from None
