"""The `Coder` that every MDS column encoding is, and the error helpers the encodings share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streaming.format.errors import EncodingError


class Coder:
    """Turns the values of one column encoding (``"int"``, ``"ndarray:uint8:32,32,3"``...) into
    bytes and back.

    `encode` and `decode` are plain functions stored on the instance, so a call costs one
    function call and no method binding: the writer calls them once per column per sample.

    Attributes:
        encoding: The encoding string this coder was made for.
        size: The fixed size in bytes of every encoded value, or None if it varies.
        safe: False only for ``pkl``, whose decoding can run arbitrary code.
        encode: ``encode(obj) -> bytes``. A `bytes` value passes through unchanged (as in
            mosaicml-streaming), so callers may write pre-encoded values; where decoding is safe
            and cheap, only if it decodes (see `checked_bytes`).
        decode: ``decode(data: bytes | memoryview) -> value``. Bad bytes raise `EncodingError`.
    """

    __slots__ = ("encoding", "size", "safe", "encode", "decode")

    encoding: str
    size: int | None
    safe: bool
    encode: Callable[[Any], bytes]
    decode: Callable[[bytes | memoryview], Any]

    def __init__(
        self,
        encoding: str,
        encode: Callable[[Any], bytes],
        decode: Callable[[bytes | memoryview], Any],
        size: int | None = None,
        safe: bool = True,
    ) -> None:
        self.encoding = encoding
        self.encode = encode
        self.decode = decode
        self.size = size
        self.safe = safe

    def __repr__(self) -> str:
        return f"Coder({self.encoding!r}, size={self.size}, safe={self.safe})"


def passing_bytes(encode: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    """Wrap `encode` so that a `bytes` value is returned unchanged (mosaicml-streaming's rule)."""

    def encode_or_pass(obj: Any) -> bytes:
        if isinstance(obj, bytes):
            return obj
        return encode(obj)

    return encode_or_pass


def checked_bytes(
    encoding: str, encode: Callable[[Any], bytes], decode: Callable[[bytes | memoryview], Any]
) -> Callable[[Any], bytes]:
    """Wrap `encode` so that a `bytes` value is stored as is, but only if `decode` reads it back.

    mosaicml-streaming stores pre-encoded bytes unchecked, so a typo'd column (text bytes that
    are not UTF-8, ``b"12a"`` in a ``str_int`` column) only fails when the dataset is read,
    maybe months later. We refuse it when it is written instead.
    """

    def encode_or_check(obj: Any) -> bytes:
        if isinstance(obj, bytes):
            try:
                decode(obj)
            except EncodingError as err:
                raise EncodingError(
                    f"pre-encoded bytes that {encoding!r} cannot read back ({err}); pass the "
                    "value itself, or bytes that decode"
                ) from None
            return obj
        return encode(obj)

    return encode_or_check


def type_name(obj: Any) -> str:
    """``int``, ``numpy.int64``, ``PIL.Image.Image``: the type of `obj` as a user would write it."""
    cls = type(obj)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def wrong_type(encoding: str, expected: str, obj: Any) -> EncodingError:
    """The error for a value of the wrong type, e.g. a numpy.int64 handed to ``int``."""
    return EncodingError(f"Encoding {encoding!r} expects {expected}, but got {type_name(obj)}")


def bad_data(encoding: str, problem: str) -> EncodingError:
    """The error for bytes that are not a valid encoded value."""
    return EncodingError(f"Cannot decode {encoding!r} data: {problem}")
