"""MDS column encodings: how each column's values become bytes in a shard, and back.

Byte-compatible with mosaicml-streaming 0.13.0. An encoding string is a name (``"int"``,
``"jpeg"``...) or, for numpy arrays only, ``"ndarray[:<dtype>[:<d0,d1,...>]]"``. Each string
gets one cached `Coder`; the writer and the reader call its `encode` / `decode` per value.

The modules: `scalars` (bytes, str, int, numpy scalars, str_*), `ndarray`, `images` (PIL,
imported only when an image encoding is first used) and `objects` (json, pkl).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial
from typing import Any

from streaming.format.errors import EncodingError
from streaming.format.mds.encodings import objects, scalars
from streaming.format.mds.encodings.base import Coder
from streaming.format.mds.encodings.ndarray import ndarray_coder

__all__ = [
    "Coder",
    "get_coder",
    "get_mds_encoded_size",
    "get_mds_encodings",
    "is_mds_encoding",
    "is_mds_encoding_safe",
    "mds_decode",
    "mds_encode",
]


def _image_coder(name: str) -> Coder:
    from streaming.format.mds.encodings.images import image_coder  # PIL is slow to import

    return image_coder(name)


_IMAGES = ("pil", "jpeg", "png", "list[pil]", "list[jpeg]", "list[png]", "jpeg_array", "jpegarray")

# Encoding name -> factory of its coder. `ndarray` alone also takes parameters.
_FACTORIES: dict[str, Callable[[], Coder]] = {
    "bytes": scalars.bytes_coder,
    "str": scalars.str_coder,
    "int": scalars.int_coder,
    **{name: partial(scalars.numpy_scalar_coder, name) for name in scalars.NUMPY_SCALARS},
    "str_int": scalars.str_int_coder,
    "str_float": scalars.str_float_coder,
    "str_decimal": scalars.str_decimal_coder,
    "ndarray": partial(ndarray_coder, "ndarray", ""),
    **{name: partial(_image_coder, name) for name in _IMAGES},
    "pkl": objects.pickle_coder,
    "json": objects.json_coder,
}


def get_mds_encodings() -> set[str]:
    """The names of all encodings (``ndarray`` without its parameters)."""
    return set(_FACTORIES)


@cache
def get_coder(encoding: str) -> Coder:
    """The coder of `encoding`; raises `EncodingError` if it is unknown or malformed."""
    if not isinstance(encoding, str):
        raise EncodingError(f"An encoding is a str, but got {type(encoding).__name__}")
    name, colon, config = encoding.partition(":")
    if colon and name == "ndarray":
        return ndarray_coder(encoding, config)
    factory = _FACTORIES.get(name)
    if factory is None:
        raise EncodingError(
            f"Unknown MDS encoding {encoding!r}: expected one of {sorted(_FACTORIES)}, or "
            "'ndarray:<dtype>' or 'ndarray:<dtype>:<d0,d1,...>'"
        )
    if colon:
        raise EncodingError(
            f"Malformed encoding {encoding!r}: only 'ndarray' takes parameters after ':'"
        )
    return factory()


def is_mds_encoding(encoding: str) -> bool:
    """Whether `encoding` is a known, well-formed encoding string (never raises)."""
    if not isinstance(encoding, str):
        return False
    try:
        get_coder(encoding)
    except EncodingError:
        return False
    return True


def get_mds_encoded_size(encoding: str) -> int | None:
    """The fixed size in bytes of every value of `encoding`, or None if the size varies."""
    return get_coder(encoding).size


def is_mds_encoding_safe(encoding: str) -> bool:
    """Whether decoding `encoding` cannot run arbitrary code: True for all but ``pkl``.

    Like the peer, this only compares names, and says True for unknown strings too.
    """
    return encoding != "pkl"


def mds_encode(encoding: str, obj: Any) -> bytes:
    """Encode `obj` as `encoding`. A `bytes` value is returned unchanged, whatever the encoding."""
    return get_coder(encoding).encode(obj)


def mds_decode(encoding: str, data: bytes | memoryview) -> Any:
    """Decode `data` as `encoding`; corrupt data raises `EncodingError`."""
    return get_coder(encoding).decode(data)
