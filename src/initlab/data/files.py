"""Data files on disk: the cache directory, MD5 checks remembered in stamps, downloads, installed packages.

A cache file is checked against its official MD5 once; the pass is remembered in a sidecar stamp
``<file>.verified`` (JSON: size, mtime_ns, md5), so the next check of an unchanged file costs one
``stat``. A file whose size or mtime changed is hashed again. A stamp is only ever written for a file
that passed, and a download lands under its final name only after its MD5 matched, so the cache never
holds a partial or unverified file that looks verified.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import secrets
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from initlab.errors import ChecksumError, DataError

CACHE_ENV = "INITLAB_DATA"
STAMP_SUFFIX = ".verified"
_CHUNK = 1 << 20


def cache_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """The data cache: ``root`` if given, else ``$INITLAB_DATA``, else ``~/.cache/initlab``."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "initlab"


def md5_file(path: Path) -> str:
    """The hex MD5 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def md5_array(array: np.ndarray) -> str:
    """The hex MD5 of an array's C-order bytes (``array.tobytes()``), as the pinned array checksums are."""
    return hashlib.md5(np.ascontiguousarray(array).data).hexdigest()


def checksum_error(what: str | Path, expected: str, actual: str, advice: str = "") -> ChecksumError:
    """The error for ``what`` (a file, or an array read from one) having the wrong MD5."""
    return ChecksumError(f"{what}: MD5 {actual} does not match the official MD5 {expected}{advice}")


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + STAMP_SUFFIX)


def _stamp_record(path: Path, md5: str) -> dict[str, int | str]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "md5": md5}


def _temp_beside(path: Path, suffix: str) -> Path:
    """A fresh hidden name beside ``path`` for writing before an atomic rename onto it."""
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}{suffix}")


def _write_stamp(path: Path, md5: str) -> None:
    """Remember that ``path`` (as it is now) has ``md5``; skipped where the cache is read-only."""
    tmp = _temp_beside(_stamp_path(path), ".tmp")
    try:
        with open(tmp, "x") as f:
            json.dump(_stamp_record(path, md5), f)
        os.replace(tmp, _stamp_path(path))
    except OSError:  # nothing remembered: the next check hashes the file again
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def verify_file(path: Path, md5: str, *, remember: bool = True) -> None:
    """Check ``path`` against its official ``md5``; raise :class:`ChecksumError` naming file and MD5s.

    With ``remember``, a pass is stamped and an unchanged stamped file is not hashed again; a failing
    file loses any stale stamp. Use ``remember=False`` for files in folders initlab must not write to
    (installed packages).
    """
    stamp = _stamp_path(path)
    if remember:
        try:
            if json.loads(stamp.read_text()) == _stamp_record(path, md5):
                return
        except (OSError, ValueError):
            pass
    actual = md5_file(path)
    if actual != md5:
        if remember:
            with contextlib.suppress(OSError):
                stamp.unlink()
        raise checksum_error(path, md5, actual, "; delete it or replace it with the official file")
    if remember:
        _write_stamp(path, md5)


def download(urls: Sequence[str], dest: Path, md5: str, *, timeout: float = 60.0) -> None:
    """Fetch ``dest`` from the first of ``urls`` (tried in order) whose bytes have the official ``md5``.

    Each attempt streams into a temporary file beside ``dest`` and is renamed onto ``dest`` only after
    its MD5 matched, so a failed, interrupted or corrupt download leaves nothing behind. Raises
    :class:`DataError` listing each URL and why it failed.
    """
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot download {dest.name}: {exc}") from None
    failures = []
    for url in urls:
        try:
            actual = _fetch(url, dest, md5, timeout)
        except OSError as exc:  # URLError, HTTPError and timeouts are OSErrors
            failures.append(f"{url}: {exc}")
            continue
        if actual == md5:
            return
        failures.append(f"{url}: MD5 {actual} does not match the official MD5 {md5}")
    raise DataError(f"cannot download {dest.name}: " + "; ".join(failures))


def _fetch(url: str, dest: Path, md5: str, timeout: float) -> str:
    """Stream ``url`` into a temp file beside ``dest``; move it onto ``dest`` if its MD5 is ``md5``.

    Returns the MD5 of what was received; the temp file is gone whatever happens.
    """
    tmp = _temp_beside(dest, ".part")
    try:
        digest = hashlib.md5()
        with open(tmp, "xb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() == md5:
            os.replace(tmp, dest)
            _write_stamp(dest, md5)
        return digest.hexdigest()
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def package_dir(package: str) -> Path | None:
    """The folder of the installed top-level ``package``, found without importing it; None if absent."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(spec.origin).parent if spec.origin else None
