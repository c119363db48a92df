"""The idx parser: magic number, big-endian dimensions and values, size checks."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from initlab.data.idx import parse_idx, read_idx
from initlab.errors import DataError


def idx_bytes(array: np.ndarray, type_code: int) -> bytes:
    """An idx file for ``array``: magic 00 00 type ndim, big-endian uint32 dims, big-endian values."""
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize(
    ("dtype", "code"), [(np.uint8, 0x08), (np.int16, 0x0B), (np.int32, 0x0C), (np.float32, 0x0D)]
)
def test_parse_idx_round_trips_big_endian_arrays(dtype: type, code: int) -> None:
    array = (np.arange(2 * 3 * 5) * 7 - 20).astype(dtype).reshape(2, 3, 5)
    parsed = parse_idx(idx_bytes(array, code))
    assert parsed.shape == (2, 3, 5)
    assert parsed.dtype == np.dtype(dtype)  # native byte order
    np.testing.assert_array_equal(parsed, array)
    assert parsed.flags.writeable


def test_read_idx_reads_gzip_files(tmp_path: Path) -> None:
    labels = np.array([5, 0, 4, 1, 9], dtype=np.uint8)
    path = tmp_path / "labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(labels, 0x08)))
    np.testing.assert_array_equal(read_idx(path), labels)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x01\x08\x01" + struct.pack(">I", 1) + b"\x00", "not an idx file"),
        (b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00", "not an idx file"),
        (b"\x00\x00\x08\x03\x00\x00", "header truncated"),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 3) + b"\x00\x00", "says shape (3,)"),
    ],
)
def test_parse_idx_rejects_malformed_data(data: bytes, message: str) -> None:
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_idx(data, "somefile")
