"""Open a dataset directory's shards: the right reader for each index entry."""

from __future__ import annotations

import os
from typing import Any

from streaming.format.index import INDEX_BASENAME, read_index
from streaming.format.mds.reader import MDSShard
from streaming.format.shard import Shard
from streaming.format.split_reader import JSONShard, XSVShard


def shard_from_entry(
    dirname: str,
    entry: dict[str, Any],
    shard_id: int,
    validate_hash: str | None = None,
    allow_unsafe_types: bool = False,
    index_path: str = INDEX_BASENAME,
) -> Shard:
    """The reader for one index entry, chosen by its `format`."""
    fmt = entry["format"]
    if fmt == "mds":
        return MDSShard(dirname, entry, shard_id, validate_hash, allow_unsafe_types, index_path)
    cls = JSONShard if fmt == "json" else XSVShard
    return cls(dirname, entry, shard_id, validate_hash=validate_hash, index_path=index_path)


def open_shards(
    dirname: str, validate_hash: str | None = None, allow_unsafe_types: bool = False
) -> list[Shard]:
    """Read `dirname/index.json` and return a reader for each of its shards (nothing is opened)."""
    index_path = os.path.join(dirname, INDEX_BASENAME)
    obj = read_index(index_path)
    return [
        shard_from_entry(dirname, entry, i, validate_hash, allow_unsafe_types, index_path)
        for i, entry in enumerate(obj["shards"])
    ]
