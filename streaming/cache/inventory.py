"""This user's caches: find them, describe them, delete them safely.

A cache is a stream directory that a `StreamingDataset` of this user filled from a remote: its
meta directory (`streaming.cache.paths.meta_dir`) holds ``source.json`` (which remote it
mirrors) and the ledger of the files the cache wrote there (`streaming.cache.ledger`). Caches are
found from those records under the per-user cache root, never by walking shared folders, so
directories of local-only data (no remote, or a remote naming the directory itself) are never
listed. `clean_cache` deletes only the files the ledger names (regular files inside the
directory, never through a link), never a directory whose remote is itself, and skips a cache
with a shard in use by a running job (its use lock is held).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from streaming.cache.ledger import Ledger, read_source
from streaming.cache.locks import LOCK_DIR, try_exclusive
from streaming.cache.paths import cache_root, location_path, meta_dir, same_directory
from streaming.cache.safefs import remove_contained

__all__ = [
    "CacheInfo",
    "NotACacheError",
    "find_caches",
    "describe_cache",
    "clean_cache",
    "default_roots",
]


class NotACacheError(ValueError):
    """A directory given to `clean_cache` is not a cache of this user, or holds the only copy
    of its data."""


@dataclass(frozen=True)
class CacheInfo:
    """One cache directory."""

    path: str
    remote: str
    files: int
    bytes: int
    last_used: float

    @property
    def age_seconds(self) -> float:
        """Seconds since a file of the cache was last written or used."""
        return max(0.0, time.time() - self.last_used)


def default_roots() -> list[str]:
    """Where `find_caches` looks when given no folder: everywhere (``/``): every cache of this
    user, wherever its `local` is."""
    return [os.sep]


def _records() -> Iterator[tuple[str, dict]]:
    """(meta directory, source record) of each cache of this user."""
    meta_root = os.path.join(cache_root(), "meta")
    with contextlib.suppress(FileNotFoundError):
        for key in sorted(os.listdir(meta_root)):
            meta = os.path.join(meta_root, key)
            record = read_source(meta) if os.path.isdir(meta) else None
            if record is not None:
                yield meta, record


def find_caches(roots: Iterable[str], max_depth: int | None = None) -> Iterator[str]:
    """This user's cache directories that lie in (or are) one of `roots`, sorted per root.
    (`max_depth` is accepted for compatibility and ignored: records are not searched for.)"""
    records = [
        record["dirname"]
        for _, record in _records()
        if os.path.isdir(record["dirname"])
        and not _is_own_remote(record, record["dirname"])
    ]
    seen = set()
    for root in roots:
        root = os.path.realpath(root)
        found = [
            d for d in records if os.path.commonpath([root, os.path.realpath(d)]) == root
        ]
        for d in sorted(found):
            if d not in seen:
                seen.add(d)
                yield d


def _source_dir(record: dict) -> str | None:
    """The directory a record's remote names with its split (None for remote schemes)."""
    path = location_path(record["remote"])
    return None if path is None else os.path.join(path, record["split"])


def _is_own_remote(record: dict, path: str) -> bool:
    """Whether the record's remote (with its split) is the directory `path` itself."""
    source = _source_dir(record)
    return source is not None and same_directory(source, path)


def _record_of(path: str) -> dict:
    meta = meta_dir(path, create=False)
    record = read_source(meta) if os.path.isdir(meta) else None
    if record is None:
        raise NotACacheError(
            f"{path!r} is not a streaming cache of yours (no record of a remote it was filled "
            "from); only caches filled from a remote are deleted: `streaming cache ls` lists them"
        )
    if _is_own_remote(record, path):
        raise NotACacheError(
            f"{path!r} is the remote it was read from ({record['remote']!r}): it holds the only "
            "copy of its data and is never deleted"
        )
    return record


def describe_cache(path: str) -> CacheInfo:
    """Size, file count, last use and remote of the cache at `path` (its ledger's files).

    Raises:
        NotACacheError: `path` is not a cache of this user.
    """
    record = _record_of(path)
    files = size = 0
    last = os.path.getmtime(os.path.join(meta_dir(path), "source.json"))
    for name in Ledger(path).files():
        with contextlib.suppress(FileNotFoundError):
            st = os.lstat(os.path.join(path, name))
            if stat.S_ISREG(st.st_mode):
                files += 1
                size += st.st_size
                last = max(last, st.st_mtime)
    return CacheInfo(path, record["remote"], files, size, last)


def in_use(path: str) -> bool:
    """Whether a running process holds a shard of the cache at `path`."""
    locks = os.path.join(meta_dir(path), LOCK_DIR)
    if not os.path.isdir(locks):
        return False
    for name in os.listdir(locks):
        if name.endswith(".use"):
            with try_exclusive(os.path.join(locks, name)) as idle:
                if not idle:
                    return True
    return False


def clean_cache(path: str) -> bool:
    """Delete the cache at `path` unless a running job uses it; whether it was deleted.

    Only the files the cache's ledger says it wrote are deleted (regular files inside `path`,
    never through a link), then the folders they leave empty and the cache's records; anything
    else in `path` stays.

    Raises:
        NotACacheError: `path` is not a cache of this user, or its remote is `path` itself
            (the only copy): nothing is deleted.
    """
    _record_of(path)
    if in_use(path):
        return False
    meta = meta_dir(path)
    folders = set()
    for name in Ledger(path).files():
        remove_contained(path, name)
        folders.add(os.path.dirname(name))
    for folder in sorted(folders, key=len, reverse=True):
        while folder:
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(path, folder))
            folder = os.path.dirname(folder)
    shutil.rmtree(meta)
    root = os.path.realpath(cache_root())
    folder = os.path.realpath(path)
    while folder != root and os.path.dirname(folder) != folder:
        try:
            os.rmdir(folder)  # only if nothing else is left
        except OSError:
            break
        if os.path.commonpath([root, folder]) != root:
            break  # a `local` of the user's own: only the directory itself
        folder = os.path.dirname(folder)
    return True
