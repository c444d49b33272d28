"""``streaming.base.format.json.encodings``: the JSON column types, ``str``, ``int``, ``float``."""

from __future__ import annotations

from typing import Any

from streaming.format.errors import EncodingError
from streaming.format.split import is_json_encoding

__all__ = ["is_json_encoded", "is_json_encoding"]

_TYPES = {"str": str, "int": int, "float": float}


def is_json_encoded(encoding: str, value: Any) -> bool:
    """True if `value` is of JSON column type `encoding`.

    Raises:
        EncodingError: `encoding` is not ``str``, ``int`` or ``float``, or `value` is not of
            that type (also an `AttributeError`, which the peer raised for a wrong type).
    """
    if not is_json_encoding(encoding):
        raise EncodingError(
            f"Unknown JSON encoding {encoding!r}: expected one of {sorted(_TYPES)}"
        )
    expected = _TYPES[encoding]
    if not isinstance(value, expected) or isinstance(value, bool):
        raise EncodingError(
            f"JSON encoding {encoding!r} expects a {expected.__name__}, but got "
            f"{type(value).__name__}"
        )
    return True
