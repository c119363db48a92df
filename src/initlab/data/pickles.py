"""Loading the pickles that datasets ship in (CIFAR-10 batches, deeplearning.net's ``mnist.pkl.gz``).

Unpickling runs code named in the file, so these pickles are read by an unpickler that resolves only
the few globals a pickled numpy array needs; anything else is refused with :class:`DataError`.
"""

from __future__ import annotations

import importlib
import pickle
from typing import IO, Any

from initlab.errors import DataError

# (module, name) a numpy array's pickle may name, for numpy 1.x and 2.x and Python 2 and 3 writers.
_ALLOWED = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise DataError(f"refusing to unpickle {module}.{name}: only numpy arrays are expected")
        # numpy 2 renamed numpy.core to numpy._core (the old path warns); numpy 1 has only numpy.core.
        for candidate in (
            module.replace("numpy.core", "numpy._core"),
            module.replace("numpy._core", "numpy.core"),
        ):
            try:
                return getattr(importlib.import_module(candidate), name)
            except (ImportError, AttributeError):
                continue
        raise DataError(f"cannot resolve {module}.{name} while unpickling")


def load_array_pickle(file: IO[bytes], encoding: str = "bytes") -> Any:
    """Unpickle ``file``, allowing only numpy arrays and builtin containers.

    ``encoding`` decodes Python 2 ``str`` objects: "bytes" keeps them as bytes (the CIFAR-10 batches'
    keys are then ``b"data"``, ``b"labels"``), "latin1" is what numpy arrays from Python 2 need when
    the keys do not matter.
    """
    return _ArrayUnpickler(file, encoding=encoding).load()
