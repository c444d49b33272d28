"""Unpickling raw data files that are pickles (CIFAR-10's batches) without running their code.

`pickle.load` calls whatever callable a file names, so a crafted ``test_batch`` can run a shell
command. `load_plain` reads only plain data: dicts, lists, tuples, strings, bytes, numbers,
booleans, None and NumPy arrays of non-object dtypes. A pickle may name only the callables that
rebuild such an array (``ndarray``, ``dtype``, NumPy's ``_reconstruct`` and ``_frombuffer``, under
their NumPy 1 and NumPy 2 module names) and ``_codecs.encode`` for latin-1 text (how Python 3
writes bytes at protocols 0 to 2). Any other global raises `RefusedGlobalError` naming it.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np


class RefusedGlobalError(pickle.UnpicklingError):
    """A pickle names a global (a class or function to call) outside the allowed set.

    Attributes:
        name: the refused global as ``module.name``.
    """

    def __init__(self, name: str) -> None:
        super().__init__(
            f"it names the global {name!r}, which plain data never needs: refused, so that "
            "no code in the file runs (only dicts, lists, strings, bytes, numbers and NumPy "
            "arrays are read)"
        )
        self.name = name


def _latin1_encode(text: str, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """``_codecs.encode`` limited to what Python 3's pickler writes for bytes: latin-1 text."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise RefusedGlobalError(f"_codecs.encode({type(text).__name__}, {encoding!r})")
    return text.encode("latin1")


def _reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    """NumPy's ``_reconstruct``, for plain ndarrays only (no subclasses)."""
    if subtype is not np.ndarray:
        raise RefusedGlobalError(f"numpy _reconstruct of {subtype!r}")
    return _NUMPY_RECONSTRUCT(subtype, shape, dtype)


_NUMPY_RECONSTRUCT = np.zeros(0).__reduce__()[0]
_NUMPY_FROMBUFFER = np.zeros(0).__reduce_ex__(5)[0]

#: (module, name) -> the object an allowed global resolves to.
ALLOWED: dict[tuple[str, str], Callable[..., Any]] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _NUMPY_FROMBUFFER,
    ("numpy._core.numeric", "_frombuffer"): _NUMPY_FROMBUFFER,
    ("_codecs", "encode"): _latin1_encode,
}


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        found = ALLOWED.get((module, name))
        if found is None:
            raise RefusedGlobalError(f"{module}.{name}")
        return found

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError(
            f"it holds a persistent id {pid!r}, which plain data never has"
        )


def load_plain(file: BinaryIO, encoding: str = "bytes") -> Any:
    """Unpickle plain data from an open binary file; `encoding` is as for `pickle.load`.

    Raises:
        RefusedGlobalError: the pickle names a class or function outside `ALLOWED`.
        pickle.UnpicklingError: it is not a pickle, or it holds an object-dtype array.
    """
    obj = _PlainUnpickler(file, encoding=encoding).load()
    _refuse_object_arrays(obj)
    return obj


def loads_plain(data: bytes, encoding: str = "bytes") -> Any:
    """`load_plain` of bytes."""
    return load_plain(io.BytesIO(data), encoding)


def _refuse_object_arrays(obj: Any, depth: int = 0) -> None:
    """Object arrays hold arbitrary Python objects; plain data never has them."""
    if isinstance(obj, np.ndarray) and obj.dtype.hasobject:
        raise pickle.UnpicklingError("it holds a NumPy array of Python objects (dtype object)")
    if depth > 100:
        return
    if isinstance(obj, dict):
        for value in obj.values():
            _refuse_object_arrays(value, depth + 1)
    elif isinstance(obj, list | tuple):
        for value in obj:
            _refuse_object_arrays(value, depth + 1)
