"""Open a dataset directory's shards: the right reader for each index entry."""

from __future__ import annotations

import contextlib
import functools
import mmap
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from streaming.format.index import INDEX_BASENAME
from streaming.format.index_table import IndexTable, table_from_bytes
from streaming.format.mds.reader import MDSShard
from streaming.format.shard import Shard
from streaming.format.shard_list import ShardList
from streaming.format.sidecar import index_key, load_sidecar, save_sidecar
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


def read_table(
    index_path: str,
    meta_dir: str | None = None,
    guard: Callable[[], AbstractContextManager] | None = None,
) -> IndexTable:
    """The index at `index_path`, column-wise: mapped from its sidecar in `meta_dir` when one
    matches, else parsed (and the sidecar written there, when `meta_dir` is given).

    `guard()`, if given, is held while parsing and writing the sidecar (a lock shared by the
    processes of the node): the ranks that start together wait for the first, then map."""
    if meta_dir is None or not os.path.isfile(index_path):
        return _parse(index_path)
    key, stat = index_key(index_path)
    table = load_sidecar(meta_dir, key, index_path)
    if table is not None:
        return table
    with guard() if guard is not None else contextlib.nullcontext():
        table = load_sidecar(meta_dir, key, index_path)  # written while we waited
        if table is None:
            table = _parse(index_path)
            if table.stat == stat:  # (None: re-encoded by the lenient reader; not cached)
                if save_sidecar(meta_dir, key, table) is not None:
                    table.sidecar = (meta_dir, key)
    return table


def _parse(index_path: str) -> IndexTable:
    try:
        f = open(index_path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(
            f"No index at {index_path!r}: a dataset directory holds index.json"
        ) from None
    with f:
        st = os.fstat(f.fileno())
        if st.st_size == 0:
            buf: Any = b""
        else:
            buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        table = table_from_bytes(buf, index_path, (st.st_size, st.st_mtime_ns))
    finally:
        if isinstance(buf, mmap.mmap):
            with contextlib.suppress(BufferError):
                buf.close()  # its pages leave this process's memory
    return table


def open_shards(
    dirname: str,
    validate_hash: str | None = None,
    allow_unsafe_types: bool = False,
    meta_dir: str | None = None,
    guard: Callable[[], AbstractContextManager] | None = None,
) -> ShardList:
    """Read `dirname/index.json` and return the readers of its shards, each built on first
    access (nothing is opened). The first shard of each column layout is built now, so that an
    unknown or unsafe encoding fails here, naming the first shard that has it.

    With `meta_dir`, the parsed index is cached there (see `streaming.format.sidecar`), under
    `guard` (see `read_table`)."""
    index_path = os.path.join(dirname, INDEX_BASENAME)
    table = read_table(index_path, meta_dir, guard)
    build = functools.partial(
        shard_from_entry,
        validate_hash=validate_hash,
        allow_unsafe_types=allow_unsafe_types,
        index_path=index_path,
    )
    shards = ShardList(table, build, dirname)
    for i in sorted(table.layout_first):
        shards[i]
    return shards
