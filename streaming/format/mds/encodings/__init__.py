"""MDS column encodings: how each column's values become bytes in a shard, and back.

Byte-compatible with mosaicml-streaming 0.13.0. An encoding string is a name (``"int"``,
``"jpeg"``...) or, for numpy arrays only, ``"ndarray[:<dtype>[:<d0,d1,...>]]"``. Each string
gets one cached `Coder`; the writer and the reader call its `encode` / `decode` per value.

The modules: `scalars` (bytes, str, int, numpy scalars, str_*), `ndarray`, `images` (PIL,
imported only when an image encoding is first used), `objects` (json, pkl) and `registry`
(user-defined encodings: subclass `Encoding`, then `register_encoding(name, cls)`, or put the
class in `_encodings` as with mosaicml-streaming).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial
from typing import Any

from streaming.format.errors import EncodingError
from streaming.format.mds.encodings import objects, scalars
from streaming.format.mds.encodings.base import Coder
from streaming.format.mds.encodings.ndarray import ndarray_coder
from streaming.format.mds.encodings.registry import (
    BuiltinEncoding,
    Encoding,
    EncodingRegistry,
    builtin_class,
    custom_coder,
)

__all__ = [
    "Coder",
    "Encoding",
    "register_encoding",
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


#: Encoding name -> `Encoding` class: the live registry that writers and readers consult
#: (mosaicml-streaming's ``_encodings``; changing it takes effect at once).
_encodings: EncodingRegistry = EncodingRegistry(
    {name: builtin_class(name, factory) for name, factory in _FACTORIES.items()},
    on_change=lambda: get_coder.cache_clear(),
)


def register_encoding(name: str, cls: type[Encoding]) -> None:
    """Add a custom MDS encoding, or replace one: `cls` is a subclass of `Encoding` (or any
    class with ``encode(obj) -> bytes``, ``decode(data: bytes)`` and a ``size`` attribute)
    made with no arguments. Writers and readers created afterwards use it by `name`.

    The same as mosaicml-streaming's ``_encodings[name] = cls``, which also works. Register it
    in every process that writes or reads the dataset (DataLoader workers started by fork
    inherit it).

    Raises:
        EncodingError: `name` is not a non-empty str without ``:``, or `cls` lacks
            ``encode``/``decode``.
    """
    if not isinstance(name, str) or not name or ":" in name:
        raise EncodingError(
            f"An encoding name is a non-empty str without ':', but got {name!r}"
        )
    if not isinstance(cls, type) or not all(
        callable(getattr(cls, method, None)) for method in ("encode", "decode")
    ):
        raise EncodingError(
            f"Encoding {name!r} must be a class with encode(obj) -> bytes and decode(data), "
            f"e.g. a subclass of streaming.format.mds.encodings.Encoding; got {cls!r}"
        )
    _encodings[name] = cls


def get_mds_encodings() -> set[str]:
    """The names of all encodings, custom ones included (``ndarray`` without parameters)."""
    return set(_encodings)


@cache
def get_coder(encoding: str) -> Coder:
    """The coder of `encoding`; raises `EncodingError` if it is unknown or malformed."""
    if not isinstance(encoding, str):
        raise EncodingError(f"An encoding is a str, but got {type(encoding).__name__}")
    name, colon, config = encoding.partition(":")
    cls = _encodings.get(name)
    if cls is None:
        raise EncodingError(
            f"Unknown MDS encoding {encoding!r}: expected one of {sorted(_encodings)}, or "
            "'ndarray:<dtype>' or 'ndarray:<dtype>:<d0,d1,...>'"
        )
    if not (isinstance(cls, type) and issubclass(cls, BuiltinEncoding)):
        return _custom(encoding, name, cls, config if colon else None)
    if colon and cls.encoding == "ndarray":
        return ndarray_coder(encoding, config)
    if colon:
        raise EncodingError(
            f"Malformed encoding {encoding!r}: only 'ndarray' takes parameters after ':'"
        )
    return cls.factory()


def _custom(encoding: str, name: str, cls: type, config: str | None) -> Coder:
    if config is not None and not hasattr(cls, "from_str"):
        raise EncodingError(
            f"Malformed encoding {encoding!r}: the custom encoding {name!r} ({cls.__name__}) "
            "takes no parameters after ':' (it has no from_str classmethod)"
        )
    try:
        return custom_coder(encoding, cls, config)
    except Exception as err:
        raise EncodingError(
            f"Could not create the custom encoding {encoding!r} from {cls.__name__}: {err!r}"
        ) from err


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
