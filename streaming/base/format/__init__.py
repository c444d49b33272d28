"""``streaming.base.format``: the writers, the readers and the index (see `streaming.format`).

The peer's ``Reader`` classes are our shard readers: ``MDSReader`` is `MDSShard`, ``JSONReader``
is `JSONShard`, and ``XSVReader``/``CSVReader``/``TSVReader`` are `XSVShard`. They read the same
shards; their constructors take ``(dirname, index_entry, shard_id)``, which `reader_from_json`
fills in from an ``index.json`` entry.
"""

from __future__ import annotations

import os
from typing import Any

from streaming.base.format.base import FileInfo, Reader
from streaming.base.format.json import JSONReader, JSONWriter
from streaming.base.format.mds import MDSReader, MDSWriter
from streaming.base.format.xsv import (
    CSVReader,
    CSVWriter,
    TSVReader,
    TSVWriter,
    XSVReader,
    XSVWriter,
)
from streaming.format.index import get_index_basename
from streaming.format.reader import shard_from_entry

__all__ = [
    "CSVWriter",
    "FileInfo",
    "get_index_basename",
    "JSONWriter",
    "MDSWriter",
    "Reader",
    "reader_from_json",
    "TSVWriter",
    "XSVWriter",
    "CSVReader",
    "JSONReader",
    "MDSReader",
    "TSVReader",
    "XSVReader",
]


def reader_from_json(dirname: str, split: str | None, obj: dict[str, Any]) -> Reader:
    """The reader of one shard: `obj` is its entry in ``<dirname>/<split>/index.json``.

    Raises:
        IndexFormatError: `obj` is not a version 2 shard entry of a known format.
    """
    from streaming.format.index import parse_index

    directory = os.path.join(dirname, split or "")
    index_path = os.path.join(directory, get_index_basename())
    # Validate the entry as index.json's reader would, naming the index in any error.
    parse_index(_as_index(obj), index_path)
    return shard_from_entry(directory, obj, 0, index_path=index_path)


def _as_index(entry: dict[str, Any]) -> bytes:
    import json

    return json.dumps({"version": 2, "shards": [entry]}).encode("utf-8")
