"""``streaming.base.format.xsv.encodings``: the CSV/TSV/XSV column types, ``str``, ``int``,
``float``, as text."""

from __future__ import annotations

from typing import Any

from streaming.format import split as _split
from streaming.format.errors import EncodingError
from streaming.format.split import is_xsv_encoding

__all__ = ["is_xsv_encoding", "xsv_decode", "xsv_encode"]

_TYPES = {"str": str, "int": int, "float": float}


def xsv_encode(encoding: str, value: Any) -> str:
    """`value` as the text of an XSV field of type `encoding`.

    Raises:
        EncodingError: an unknown `encoding`, or a `value` not of its type (also an
            `AttributeError`, which the peer raised for a wrong type).
    """
    if not is_xsv_encoding(encoding):
        raise EncodingError(f"Unknown XSV encoding {encoding!r}: expected one of {sorted(_TYPES)}")
    expected = _TYPES[encoding]
    if not isinstance(value, expected) or isinstance(value, bool):
        raise EncodingError(
            f"XSV encoding {encoding!r} expects a {expected.__name__}, but got "
            f"{type(value).__name__}"
        )
    return value if encoding == "str" else str(value)


def xsv_decode(encoding: str, value: str) -> Any:
    """The value of an XSV field's text `value` of type `encoding`."""
    return _split.xsv_decode(encoding, value)
