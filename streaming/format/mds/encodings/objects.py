"""Whole Python objects: ``json`` (safe) and ``pkl`` (unsafe: unpickling can run any code)."""

from __future__ import annotations

import json
import pickle
from typing import Any

import numpy as np

from streaming.format.errors import EncodingError
from streaming.format.mds.encodings.base import Coder, bad_data, checked_bytes, passing_bytes


def _encode_json(obj: Any) -> bytes:
    if isinstance(obj, np.ndarray):
        obj = obj.tolist()
    try:
        return json.dumps(obj).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as err:
        raise EncodingError(f"Encoding 'json' cannot write {type(obj).__name__}: {err}") from None


def _decode_json(data: bytes | memoryview) -> Any:
    try:
        return json.loads(str(data, "utf-8"))
    except (ValueError, RecursionError) as err:  # UnicodeDecodeError is a ValueError
        raise bad_data("json", str(err)) from None


def _encode_pickle(obj: Any) -> bytes:
    try:
        return pickle.dumps(obj)
    except Exception as err:  # pickling calls user code (__reduce__), which may raise anything
        raise EncodingError(f"Encoding 'pkl' cannot pickle {type(obj).__name__}: {err}") from err


def _decode_pickle(data: bytes | memoryview) -> Any:
    try:
        return pickle.loads(data)
    except Exception as err:  # corrupt pickles raise many types, and __setstate__ anything
        raise bad_data("pkl", f"{type(err).__name__}: {err}") from err


def json_coder() -> Coder:
    """``json``: ``json.dumps(value)`` in UTF-8; a numpy array is written as ``.tolist()``."""
    return Coder("json", checked_bytes("json", _encode_json, _decode_json), _decode_json)


def pickle_coder() -> Coder:
    """``pkl``: ``pickle.dumps(value)`` at Python's default protocol. Unsafe to decode, so
    pre-encoded bytes are stored unchecked (unpickling them to check could run code)."""
    return Coder("pkl", passing_bytes(_encode_pickle), _decode_pickle, safe=False)
