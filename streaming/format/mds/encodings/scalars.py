"""Single values: ``bytes``, ``str``, ``int``, the eleven numpy scalar types and the ``str_*`` ones.

MDS stores numbers as numpy's ``tobytes()``, which is little-endian on every host we (and
mosaicml-streaming) run on; decoding reads them as little-endian explicitly.
"""

from __future__ import annotations

import struct
from decimal import Decimal
from typing import Any

import numpy as np

from streaming.format.errors import EncodingError
from streaming.format.mds.encodings.base import Coder, bad_data, checked_bytes, wrong_type

NUMPY_SCALARS = (
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "int8",
    "int16",
    "int32",
    "int64",
    "float16",
    "float32",
    "float64",
)

_pack_int64 = struct.Struct("<q").pack


def _encode_bytes(obj: Any) -> bytes:
    if isinstance(obj, bytes):
        return obj
    raise wrong_type("bytes", "bytes", obj)


def _encode_str(obj: Any) -> bytes:
    if isinstance(obj, str):
        return obj.encode("utf-8")
    if isinstance(obj, bytes):
        try:
            obj.decode("utf-8")  # stored as is, but only if the reader can read it back
        except UnicodeDecodeError as err:
            raise EncodingError(
                f"Encoding 'str' stores UTF-8, but got bytes that are not UTF-8 ({err}); pass "
                "a str, or use a 'bytes' column for binary data"
            ) from None
        return obj
    raise wrong_type("str", "str", obj)


def _decode_str(data: bytes | memoryview) -> str:
    try:
        return str(data, "utf-8")
    except UnicodeDecodeError as err:
        raise bad_data("str", f"not UTF-8 ({err})") from None


def _encode_int(obj: Any) -> bytes:
    # Like the peer: any Python int (bool included), but not numpy integers.
    if isinstance(obj, int):
        try:
            return _pack_int64(obj)
        except struct.error:
            raise EncodingError(
                f"Encoding 'int' holds a signed 64-bit integer, but got {obj}, which is out of "
                "range; use 'str_int' for arbitrary precision"
            ) from None
    if isinstance(obj, bytes):
        return obj
    raise wrong_type("int", "a Python int (convert numpy integers with int())", obj)


def _decode_int(data: bytes | memoryview) -> int:
    if len(data) != 8:
        raise bad_data("int", f"expected 8 bytes, got {len(data)}")
    return int.from_bytes(data, "little", signed=True)


def bytes_coder() -> Coder:
    """``bytes``: stored as is; decodes to `bytes` (a copy, if handed a memoryview)."""
    return Coder("bytes", _encode_bytes, bytes)


def str_coder() -> Coder:
    """``str``: UTF-8."""
    return Coder("str", _encode_str, _decode_str)


def int_coder() -> Coder:
    """``int``: a Python int as 8 bytes of int64; decodes to a Python int."""
    return Coder("int", _encode_int, _decode_int, size=8)


def numpy_scalar_coder(name: str) -> Coder:
    """``uint8`` ... ``float64``: ``numpy.<name>(value).tobytes()``; decodes to a numpy scalar."""
    make = getattr(np, name)
    dtype = np.dtype(name).newbyteorder("<")
    size = dtype.itemsize
    frombuffer = np.frombuffer

    def encode(obj: Any) -> bytes:
        if isinstance(obj, bytes):
            return obj
        try:
            out = make(obj).tobytes()
        except (TypeError, ValueError, OverflowError) as err:
            raise EncodingError(
                f"Encoding {name!r} expects a value that numpy.{name}() accepts, but got "
                f"{type(obj).__name__} {obj!r:.100}: {err}"
            ) from None
        if len(out) != size:  # numpy.uint8([1, 2]) is an array, not a scalar
            raise EncodingError(
                f"Encoding {name!r} holds one {size}-byte value, but got {type(obj).__name__} "
                f"{obj!r:.100}, which encodes to {len(out)} bytes"
            )
        return out

    def decode(data: bytes | memoryview) -> Any:
        if len(data) != size:
            raise bad_data(name, f"expected {size} bytes, got {len(data)}")
        return frombuffer(data, dtype)[0]

    return Coder(name, encode, decode, size=size)


def _str_number_coder(name: str, cls: type, parse: Any, errors: tuple[type, ...]) -> Coder:
    def encode(obj: Any) -> bytes:
        if not isinstance(obj, cls):
            raise wrong_type(name, f"a Python {cls.__name__}", obj)
        try:
            return str(obj).encode("utf-8")
        except ValueError as err:  # an int past sys.get_int_max_str_digits()
            raise EncodingError(f"Encoding {name!r} cannot write {cls.__name__}: {err}") from None

    def decode(data: bytes | memoryview) -> Any:
        try:
            return parse(str(data, "utf-8"))
        except errors as err:
            raise bad_data(name, f"not a {cls.__name__} in text ({err})") from None

    return Coder(name, checked_bytes(name, encode, decode), decode)


def str_int_coder() -> Coder:
    """``str_int``: ``str(int)`` in UTF-8, for integers of any size. `bool` passes as ``True``."""
    return _str_number_coder("str_int", int, int, (ValueError,))


def str_float_coder() -> Coder:
    """``str_float``: ``str(float)`` in UTF-8 (Python ints are refused, as by the peer)."""
    return _str_number_coder("str_float", float, float, (ValueError,))


def str_decimal_coder() -> Coder:
    """``str_decimal``: ``str(Decimal)`` in UTF-8."""
    return _str_number_coder("str_decimal", Decimal, Decimal, (ValueError, ArithmeticError))
