"""Human-friendly byte sizes (`"64mb"`) and counts (`"100k"`), parsed as mosaicml-streaming does."""

from __future__ import annotations

import re

_BYTE_UNITS = {"b": 0, "kb": 1, "mb": 2, "gb": 3, "tb": 4, "pb": 5, "eb": 6, "zb": 7, "yb": 8}
_COUNT_UNITS = {"": 0, "k": 1, "m": 2, "b": 3, "t": 4}


def bytes_to_int(size: int | float | str) -> int:
    """Parse a byte size: an int, or a string of digits with an optional binary unit.

    ``"64mb"`` is ``64 * 1024**2``; ``"100b"`` and ``"100"`` are 100 bytes. Units are
    case-insensitive and may follow a decimal number (``"1.5kb"`` is 1536).
    """
    if isinstance(size, bool):
        raise ValueError(f"Invalid byte size {size!r}: expected an int or a string like '64mb'")
    if isinstance(size, int):
        return size
    if isinstance(size, float):
        return int(size)  # truncated, as the peer does
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(size))
    if not m or m.group(2).lower() not in _BYTE_UNITS | {"": 0}:
        raise ValueError(
            f"Invalid byte size {size!r}: expected an int or a number with one of the units "
            f"{', '.join(_BYTE_UNITS)} (for example '64mb')"
        )
    # A fraction is truncated to whole bytes, as the peer does: "1.1kb" is 1126.
    return int(float(m.group(1)) * 1024 ** _BYTE_UNITS.get(m.group(2).lower(), 0))


def number_abbrev_to_int(value: int | float | str) -> int:
    """Parse a count with an optional decimal suffix: ``"100k"`` is 100,000, ``"2b"`` is 2e9."""
    if isinstance(value, bool):
        raise ValueError(f"Invalid count {value!r}: expected an int or a string like '100k'")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value != int(value):
            raise ValueError(f"Invalid count {value!r}: a float must be a whole number")
        return int(value)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(value))
    if not m or m.group(2).lower() not in _COUNT_UNITS:
        raise ValueError(
            f"Invalid count {value!r}: expected an int or a number with one of the suffixes "
            "k, m, b, t (for example '100k')"
        )
    result = float(m.group(1)) * 1000 ** _COUNT_UNITS[m.group(2).lower()]
    if result != int(result):
        raise ValueError(f"Invalid count {value!r}: it is not a whole number")
    return int(result)
