"""Errors raised when bytes on disk, or values handed to a writer, are not what the format says.

Every message names where the problem is (file, shard, column, sample index) and what was
expected, so a user can find the bad record without a debugger. All of them derive from
`FormatError`, which derives from `ValueError` so that code written against mosaicml-streaming
(which raised bare `ValueError`s) still catches them. Where the peer raised another type for the
same case, ours also derives from that type, so an ``except`` written for the peer still works:

* an unknown encoding given to a writer (peer: `TypeError`) or a value of the wrong type for its
  encoding (peer: `AttributeError` from its encodings' type checks): `EncodingError`;
* a sample missing a column (peer: `KeyError`): `ColumnError`;
* an ``index.json`` that is empty or not JSON (peer: `json.JSONDecodeError`): `IndexJSONError`.
"""

from __future__ import annotations

import json


class FormatError(ValueError):
    """Base class: something about a dataset's bytes or a sample's values is wrong."""


class EncodingError(FormatError, TypeError, AttributeError):
    """An unknown or malformed column encoding, or a value that the encoding cannot hold.

    Also a `TypeError` and an `AttributeError`: what mosaicml-streaming raised for an unknown
    encoding given to `MDSWriter` and for a value of the wrong type.
    """


class ColumnError(FormatError, KeyError):
    """A sample has a missing or an extra column.

    Also a `KeyError`: what mosaicml-streaming raised for a sample missing a column.
    """

    __str__ = BaseException.__str__  # KeyError's would quote the message


class IndexFormatError(FormatError):
    """An `index.json` that is not valid JSON, has the wrong version, or lacks a field."""


class IndexJSONError(IndexFormatError, json.JSONDecodeError):
    """An `index.json` that is empty or not valid JSON.

    Also a `json.JSONDecodeError` (what mosaicml-streaming raised), with its ``doc``, ``pos``,
    ``lineno`` and ``colno``; the message is ours and names the file.
    """

    def __init__(self, message: str, doc: str = "", pos: int = 0) -> None:
        ValueError.__init__(self, message)
        self.msg = message
        self.doc = doc
        self.pos = pos
        self.lineno = doc.count("\n", 0, pos) + 1
        self.colno = pos - doc.rfind("\n", 0, pos)

    def __reduce__(self) -> tuple:
        return type(self), (self.msg, self.doc, self.pos)


class ShardFormatError(FormatError):
    """A shard file that is truncated, or whose offsets point outside the file."""


class HashMismatchError(FormatError):
    """A shard whose bytes do not hash to what `index.json` records."""


class DecompressionError(FormatError):
    """A compressed shard that does not decompress with its recorded algorithm."""


class ShardTooLargeError(FormatError):
    """A shard would pass the 4 GiB limit of MDS's uint32 offsets."""


class UnsafeEncodingError(FormatError):
    """A dataset uses `pkl`, which can run code when read, and `allow_unsafe_types` is False."""


def where(
    file: str | None = None,
    shard: int | None = None,
    column: str | None = None,
    sample: int | None = None,
) -> str:
    """Format a location as ``file 'x', shard 3, column 'y', sample 12`` for error messages."""
    parts = []
    if file is not None:
        parts.append(f"file {file!r}")
    if shard is not None:
        parts.append(f"shard {shard}")
    if column is not None:
        parts.append(f"column {column!r}")
    if sample is not None:
        parts.append(f"sample {sample}")
    return ", ".join(parts)
