"""``ndarray``: numpy arrays, with the dtype and shape either in the encoding string or in the data.

Three forms of encoding string, and what each writes before the values (``arr.tobytes()``,
C order, little-endian):

* ``ndarray``                     -> [dtype byte] [shape header]
* ``ndarray:<dtype>``             ->              [shape header]
* ``ndarray:<dtype>:<d0,d1,...>`` -> nothing; the only form with a fixed size

(``ndarray:`` is accepted as ``ndarray``, as by the peer; a shape with no dtype cannot be
written.) The shape header is one byte ``ndim << 2 | k`` followed by the ``ndim`` dims as
uint8/16/32/64 for k = 0/1/2/3, the smallest type that holds the largest dim.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np

from streaming.format.errors import EncodingError
from streaming.format.mds.encodings.base import Coder, bad_data, checked_bytes, wrong_type

# The dtype byte of each supported dtype (no bool, complex or bfloat16).
DTYPE_CODES = {
    "uint8": 8,
    "int8": 9,
    "uint16": 16,
    "int16": 17,
    "float16": 18,
    "uint32": 32,
    "int32": 33,
    "float32": 34,
    "uint64": 64,
    "int64": 65,
    "float64": 66,
}
_CODE_DTYPES = {code: np.dtype(name).newbyteorder("<") for name, code in DTYPE_CODES.items()}

_DIM_FORMATS = "BHIQ"  # struct codes of uint8/16/32/64, by k
_MAX_NDIM = 63  # ndim must fit in the 6 high bits of the header byte


def parse_ndarray(encoding: str, config: str) -> tuple[str | None, tuple[int, ...] | None]:
    """Split the part after ``ndarray:`` into (dtype, shape), each None when not given."""
    args = config.split(":") if config else []
    if len(args) > 2:
        raise EncodingError(
            f"Malformed encoding {encoding!r}: expected 'ndarray', 'ndarray:<dtype>' or "
            "'ndarray:<dtype>:<d0,d1,...>'"
        )
    dtype = args[0] if args else None
    if dtype is not None and dtype not in DTYPE_CODES:
        raise EncodingError(
            f"Malformed encoding {encoding!r}: dtype {dtype!r} is not one of {list(DTYPE_CODES)}"
        )
    if len(args) < 2:
        return dtype, None
    try:
        shape = tuple(int(dim) for dim in args[1].split(","))  # int() as the peer: ' 3', '+3'
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise EncodingError(
            f"Malformed encoding {encoding!r}: the shape {args[1]!r} must be comma-separated "
            "integers of at least 1, e.g. 'ndarray:uint8:32,32,3'"
        )
    return dtype, shape


def _shape_header(encoding: str, shape: tuple[int, ...]) -> bytes:
    ndim = len(shape)
    if ndim == 0:
        raise EncodingError(
            f"Encoding {encoding!r} cannot write a 0-d array; use a scalar encoding such as "
            "'int64' or 'float32'"
        )
    if ndim > _MAX_NDIM:
        raise EncodingError(
            f"Encoding {encoding!r} writes at most {_MAX_NDIM} dimensions, but got {ndim}"
        )
    largest = max(shape)
    k = 0 if largest < 1 << 8 else 1 if largest < 1 << 16 else 2 if largest < 1 << 32 else 3
    return struct.pack(f"<B{ndim}{_DIM_FORMATS[k]}", (ndim << 2) | k, *shape)


def ndarray_coder(encoding: str, config: str) -> Coder:
    """The coder of ``ndarray`` with `config` the text after ``ndarray:`` ('' for none)."""
    fixed_dtype, fixed_shape = parse_ndarray(encoding, config)
    static_dtype = None if fixed_dtype is None else _CODE_DTYPES[DTYPE_CODES[fixed_dtype]]
    size = None
    if static_dtype is not None and fixed_shape is not None:
        size = math.prod(fixed_shape) * static_dtype.itemsize

    def encode(obj: Any) -> bytes:
        if not isinstance(obj, np.ndarray):
            raise wrong_type(encoding, "a numpy.ndarray", obj)
        name = obj.dtype.name
        code = DTYPE_CODES.get(name)
        if code is None:
            raise EncodingError(
                f"Encoding {encoding!r} cannot write dtype {obj.dtype}: expected one of "
                f"{list(DTYPE_CODES)}"
            )
        if fixed_dtype is not None and name != fixed_dtype:
            raise EncodingError(
                f"Encoding {encoding!r} expects dtype {fixed_dtype}, but got {name}"
            )
        if obj.size == 0:
            raise EncodingError(
                f"Encoding {encoding!r} cannot write an array with no elements (shape {obj.shape})"
            )
        if fixed_shape is None:
            header = _shape_header(encoding, obj.shape)
        elif obj.shape != fixed_shape:
            raise EncodingError(
                f"Encoding {encoding!r} expects shape {fixed_shape}, but got {obj.shape}"
            )
        else:
            header = b""
        if obj.dtype.byteorder == ">":
            # The peer would write these bytes as they are, which it then misreads.
            obj = obj.astype(obj.dtype.newbyteorder("<"))
        if fixed_dtype is None:
            header = bytes((code,)) + header
        return header + obj.tobytes()

    def decode(data: bytes | memoryview) -> np.ndarray:
        end = len(data)
        pos = 0
        dtype = static_dtype
        if dtype is None:
            if end < 1:
                raise bad_data(encoding, "no dtype byte (0 bytes of data)")
            dtype = _CODE_DTYPES.get(data[0])
            if dtype is None:
                raise bad_data(encoding, f"unknown dtype byte {data[0]}")
            pos = 1
        shape = fixed_shape
        if shape is None:
            if end < pos + 1:
                raise bad_data(encoding, "the data ends before the shape header")
            ndim, k = data[pos] >> 2, data[pos] & 3
            pos += 1
            if ndim == 0:
                raise bad_data(encoding, "the shape header says 0 dimensions")
            dims_end = pos + ndim * (1 << k)
            if end < dims_end:
                raise bad_data(
                    encoding, f"{end} bytes cannot hold a shape of {ndim} dims of {1 << k} bytes"
                )
            shape = struct.unpack_from(f"<{ndim}{_DIM_FORMATS[k]}", data, pos)
            pos = dims_end
            if min(shape) == 0:
                raise bad_data(encoding, f"shape {shape} has a zero dimension")
        expected = math.prod(shape) * dtype.itemsize
        if end - pos != expected:
            raise bad_data(
                encoding,
                f"shape {shape} of {dtype.name} needs {expected} bytes of values, "
                f"but got {end - pos}",
            )
        return np.frombuffer(data, dtype, offset=pos).reshape(shape)

    return Coder(encoding, checked_bytes(encoding, encode, decode), decode, size=size)
