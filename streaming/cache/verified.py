"""Which shard files of a directory were already hash-checked: once per node per file version.

`validate_hash` promises that every byte served was checked against `index.json`, whether the
file was just downloaded, decompressed beside its zip, or left in the cache by an earlier run.
Hashing every file in every process (ranks times DataLoader workers) would multiply the cost, so
a process that checked a file leaves a record, and the next process that opens the same version
of the file reads the record instead of hashing again.

A record is one small JSON file per shard file, in ``<meta_dir(dirname)>/verified/`` (outside
the dataset directory, private to the user): the file's size, ``mtime_ns``, ``ctime_ns``, inode
and device, and the algorithm and digest it was checked against. Any write to the file changes
its mtime and ctime (a replacement, its inode; ctime cannot be set back the way mtime can), so
a tampered or re-downloaded file no longer matches and is hashed again. Records are written
atomically (temporary name, then rename), and hashing a file is done under its ``flock`` so
that processes that open it at once hash it once. No shared memory; a record left by a crash
is only ever a correct record of an older version.

`touch` is how the cache marks a shard as used (its mtime is the LRU clock): it carries a
matching record over to the new mtime, so marking a file used never costs a re-hash.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

from streaming.cache.locks import exclusive
from streaming.format.files import write_atomic

__all__ = ["VerifiedRecord", "attach", "touch"]

_FOLDER = "verified"


def _key(st: os.stat_result, algo: str, digest: str) -> dict:
    return {
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "ctime_ns": st.st_ctime_ns,  # unlike mtime, no one can set it back after a change
        "ino": st.st_ino,
        "dev": st.st_dev,
        "algo": algo,
        "digest": digest,
    }


class VerifiedRecord:
    """The record of verified files of one dataset directory.

    Args:
        dirname: the dataset (stream) directory whose files are recorded.
        folder: where the records live; by default ``<meta_dir(dirname)>/verified``.

    It pickles as its two paths, so DataLoader workers share the records of their parent.
    """

    def __init__(self, dirname: str, folder: str | None = None) -> None:
        if folder is None:
            from streaming.cache.paths import meta_dir

            folder = os.path.join(meta_dir(dirname), _FOLDER)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        self.dirname = dirname
        self.folder = folder

    def _path(self, path: str) -> str:
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(self.dirname))
        return os.path.join(self.folder, quote(rel, safe=""))

    def is_verified(self, path: str, st: os.stat_result, algo: str, digest: str) -> bool:
        """Whether the file at `path`, as `st` describes it, was checked against `digest`."""
        try:
            with open(self._path(path), "rb") as f:
                return json.loads(f.read()) == _key(st, algo, digest)
        except (OSError, ValueError):
            return False

    def add(self, path: str, st: os.stat_result, algo: str, digest: str) -> None:
        """Record that the file at `path`, as `st` describes it, hashes to `digest` under `algo`.

        A failure to write the record is ignored: the next process will hash the file again.
        """
        with contextlib.suppress(OSError):
            record = json.dumps(_key(st, algo, digest)).encode()
            write_atomic(self._path(path), [record])

    def check(
        self, path: str, st: os.stat_result, algo: str, digest: str, verify: Callable[[], None]
    ) -> bool:
        """Make sure the file at `path` (as `st` describes the open file) matches `digest`.

        If no record says so, `verify()` is called (it hashes the open file and raises on a
        mismatch) under the file's lock, once per node, and its success recorded. Returns
        whether the file was hashed now (False: a record vouched for it).
        """
        if self.is_verified(path, st, algo, digest):
            return False
        with exclusive(self._path(path) + ".lock"):
            if self.is_verified(path, st, algo, digest):  # another process hashed it meanwhile
                return False
            verify()
            try:
                now = os.stat(path)
            except FileNotFoundError:
                return True
            if _same_version(now, st):  # not replaced or rewritten while we hashed
                self.add(path, st, algo, digest)
        return True

    def touch(self, path: str) -> None:
        """Set the file's mtime to now (the cache's "last used"), keeping a matching record."""
        touch(path, self)


def _same_version(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_ino, a.st_dev, a.st_size, a.st_mtime_ns, a.st_ctime_ns) == (
        b.st_ino,
        b.st_dev,
        b.st_size,
        b.st_mtime_ns,
        b.st_ctime_ns,
    )


def touch(path: str, record: VerifiedRecord | None) -> None:
    """``os.utime(path)``, carrying `record`'s entry for the file over to its new mtime.

    Only an entry that matched the file just before the touch is carried, so a file changed
    since it was checked stays unverified.
    """
    try:
        before = os.stat(path, follow_symlinks=False)
        os.utime(path, follow_symlinks=False)
    except OSError:
        return
    if record is None:
        return
    try:
        with open(record._path(path), "rb") as f:
            entry = json.loads(f.read())
        after = os.stat(path)
    except (OSError, ValueError):
        return
    if not isinstance(entry, dict) or entry != _key(before, entry.get("algo"), entry.get("digest")):
        return
    if (after.st_ino, after.st_size) == (before.st_ino, before.st_size):
        record.add(path, after, entry["algo"], entry["digest"])


def attach(shards: Sequence[Any]) -> None:
    """Give every shard that checks hashes the record of its directory (one per directory).

    A directory whose record cannot be created (an unsafe or read-only cache root) gets none:
    its shards are then hashed by every process that opens them.
    """
    if hasattr(shards, "attach_each"):  # a lazy ShardList: each reader as it is built
        shards.attach_each(attach)
        return
    records: dict[str, VerifiedRecord | None] = {}
    for shard in shards:
        if not shard.validate_hash or shard.hash_record is not None:
            continue
        if shard.dirname not in records:
            try:
                records[shard.dirname] = VerifiedRecord(shard.dirname)
            except OSError:
                records[shard.dirname] = None
        shard.hash_record = records[shard.dirname]
