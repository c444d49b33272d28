"""The parsed form of an `index.json`, cached beside it: a binary file mapped, not parsed.

The first process that reads an index writes its `IndexTable` columns to
``<meta dir>/index-<key>.cols``, where the key is the xxh64 of the index's bytes, its size and
its modification time. Later processes map that file instead of parsing the index. The file is
written atomically (temporary name, then rename) and is used only if its header carries the
same key, every column is where the header says, and the columns hash to the recorded xxh64;
anything else is ignored (and replaced when the index is next parsed).

Layout: 8 magic bytes, a little-endian uint64 header length, the header (JSON: key, shard
count, layout firsts, column offsets and dtypes, payload hash), then the columns, each aligned
to 64 bytes.
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import struct

import numpy as np
import xxhash

from streaming.format.files import write_atomic
from streaming.format.index_table import COLUMNS, IndexTable

__all__ = ["index_key", "load_sidecar", "save_sidecar", "sidecar_path"]

_MAGIC = b"SIDXCOL1"
_LEN = struct.Struct("<Q")
_ALIGN = 64


def index_key(path: str) -> tuple[str, tuple[int, int]]:
    """The sidecar key of the index at `path` (xxh64 of its bytes, size, mtime) and its
    (size, mtime_ns); the bytes are read in blocks, never held whole."""
    h = xxhash.xxh64()
    with open(path, "rb") as f:
        st = os.fstat(f.fileno())
        block = bytearray(max(1, min(st.st_size, 1 << 22)))
        view = memoryview(block)
        while True:
            n = f.readinto(block)
            if not n:
                break
            h.update(view[:n])
    return f"{h.hexdigest()}-{st.st_size}-{st.st_mtime_ns}", (st.st_size, st.st_mtime_ns)


def sidecar_path(meta_dir: str, key: str) -> str:
    """Where the sidecar of the index with `key` lives in `meta_dir`."""
    return os.path.join(meta_dir, f"index-{key}.cols")


def save_sidecar(meta_dir: str, key: str, table: IndexTable) -> str | None:
    """Write `table` as the sidecar of `key` (atomically), and remove older sidecars of the
    directory. Returns the path, or None if `meta_dir` cannot be written."""
    offsets, pos, chunks = {}, 0, []
    h = xxhash.xxh64()
    for name, dtype in COLUMNS.items():
        aligned = -(-pos // _ALIGN) * _ALIGN
        if aligned > pos:
            chunks.append(b"\0" * (aligned - pos))
            h.update(chunks[-1])
        offsets[name] = aligned
        data = memoryview(np.ascontiguousarray(table.columns[name], dtype)).cast("B")
        chunks.append(data)
        h.update(data)
        pos = aligned + len(data)
    header = json.dumps(
        {
            "key": key,
            "shards": len(table),
            "layout_first": table.layout_first,
            "columns": {n: [offsets[n], np.dtype(d).str] for n, d in COLUMNS.items()},
            "payload": pos,
            "xxh64": h.hexdigest(),
        }
    ).encode()
    start = -(-(len(_MAGIC) + _LEN.size + len(header)) // _ALIGN) * _ALIGN
    head = _MAGIC + _LEN.pack(len(header)) + header
    path = sidecar_path(meta_dir, key)
    try:
        write_atomic(path, [head, b"\0" * (start - len(head)), *chunks])
    except OSError:
        return None
    with contextlib.suppress(OSError):
        mine = os.path.basename(path)
        for name in os.listdir(meta_dir):
            if name.startswith("index-") and name.endswith(".cols") and name != mine:
                with contextlib.suppress(OSError):
                    os.remove(os.path.join(meta_dir, name))
    return path


def load_sidecar(meta_dir: str, key: str, index_path: str) -> IndexTable | None:
    """The table stored for `key` in `meta_dir`, mapped; None if there is none or it does not
    match (wrong key, truncated, columns out of place or not hashing to the recorded value)."""
    path = sidecar_path(meta_dir, key)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < len(_MAGIC) + _LEN.size:
                return None
            buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    try:
        table = _parse(buf, key, index_path)
    except (ValueError, KeyError, TypeError, struct.error):
        return None
    if table is not None:
        table.sidecar = (meta_dir, key)
    return table


def _parse(buf: mmap.mmap, key: str, index_path: str) -> IndexTable | None:
    if buf[: len(_MAGIC)] != _MAGIC:
        return None
    (hlen,) = _LEN.unpack_from(buf, len(_MAGIC))
    first = len(_MAGIC) + _LEN.size
    header = json.loads(buf[first : first + hlen])
    if header.get("key") != key:
        return None
    start = -(-(first + hlen) // _ALIGN) * _ALIGN
    n, plen = int(header["shards"]), int(header["payload"])
    if start + plen != len(buf):
        return None
    payload = memoryview(buf)[start : start + plen]
    if xxhash.xxh64(payload).hexdigest() != header["xxh64"]:
        return None
    columns = {}
    for name, dtype in COLUMNS.items():
        offset, stored = header["columns"][name]
        dt = np.dtype(dtype)
        if stored != dt.str or offset < 0 or offset + n * dt.itemsize > plen:
            return None
        columns[name] = np.frombuffer(payload, dt, n, offset)
    layout_first = [int(i) for i in header["layout_first"]]
    if any(not 0 <= i < n for i in layout_first):
        return None
    size_mtime = key.split("-")[1:]
    return IndexTable(index_path, columns, layout_first, (int(size_mtime[0]), int(size_mtime[1])))
