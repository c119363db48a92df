"""Reader for the idx format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/).

An idx file is a 4-byte magic number — two zero bytes, a type code, the number of dimensions —
then one big-endian uint32 per dimension, then the values in C order, big-endian. The official files
are gzip-compressed (``*-idx3-ubyte.gz`` images N×28×28, ``*-idx1-ubyte.gz`` labels N).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from initlab.errors import DataError

_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def parse_idx(data: bytes, what: str = "idx data") -> np.ndarray:
    """Decode the bytes of an (uncompressed) idx file into a writable native-endian array of its shape.

    Raises :class:`DataError` naming ``what`` for a bad magic number or a size that disagrees with
    the header.
    """
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _TYPES:
        raise DataError(f"{what}: not an idx file (magic number {data[:4].hex() or 'missing'})")
    dtype, ndim = _TYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{what}: idx header truncated ({len(data)} bytes, needs {header})")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = header + dtype.itemsize * int(np.prod(shape, dtype=np.int64))
    if len(data) != expected:
        raise DataError(f"{what}: idx header says shape {shape} ({expected} bytes), file has {len(data)}")
    values = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="))


def read_idx(path: Path) -> np.ndarray:
    """Read an idx file, gzip-compressed if its name ends in ``.gz``, as a native-endian array."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        return parse_idx(f.read(), str(path))
