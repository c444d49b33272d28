"""The caches on this machine: find them, describe them, delete them safely.

A cache is a stream directory that a `StreamingDataset` filled from a remote: it holds
``.streaming/remote`` (which remote it mirrors). Directories without that marker (data that
exists only locally) are never listed, and so never deleted. A cache with a shard in use by a
running job (its use lock is held) is skipped by `clean`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from streaming.cache.locks import LOCK_DIR, try_exclusive

__all__ = ["CacheInfo", "find_caches", "describe_cache", "clean_cache", "default_roots"]

MARKER = os.path.join(".streaming", "remote")


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
        return max(0.0, time.time() - self.last_used)


def default_roots() -> list[str]:
    """Where caches of ``local=None`` live: the temporary directory."""
    return [tempfile.gettempdir()]


def find_caches(roots: Iterable[str], max_depth: int = 4) -> Iterator[str]:
    """Cache directories under `roots` (searched `max_depth` levels deep), sorted per root."""
    for root in roots:
        root = os.path.abspath(root)
        if os.path.isfile(os.path.join(root, MARKER)):
            yield root
            continue
        found = []
        base = root.count(os.sep)
        for dirpath, dirnames, _ in os.walk(root, onerror=lambda e: None):
            if os.path.isfile(os.path.join(dirpath, MARKER)):
                found.append(dirpath)
                dirnames[:] = []
            elif dirpath.count(os.sep) - base >= max_depth:
                dirnames[:] = []
            else:
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        yield from sorted(found)


def describe_cache(path: str) -> CacheInfo:
    """Size, file count, last use and remote of the cache at `path`."""
    with open(os.path.join(path, MARKER), encoding="utf-8") as f:
        remote = f.read().rsplit("|", 1)[0]
    files = size = 0
    last = os.path.getmtime(os.path.join(path, MARKER))
    for dirpath, dirnames, names in os.walk(path):
        dirnames[:] = [d for d in dirnames if d != ".streaming"]
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                st = os.stat(os.path.join(dirpath, name))
                files += 1
                size += st.st_size
                last = max(last, st.st_mtime)
    return CacheInfo(path, remote, files, size, last)


def in_use(path: str) -> bool:
    """Whether a running process holds a shard of the cache at `path`."""
    locks = os.path.join(path, LOCK_DIR)
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

    Raises:
        ValueError: `path` is not a cache (no ``.streaming/remote`` marker): nothing is deleted.
    """
    if not os.path.isfile(os.path.join(path, MARKER)):
        raise ValueError(
            f"{path!r} is not a streaming cache (no {MARKER}); only caches filled from a remote "
            "are deleted"
        )
    if in_use(path):
        return False
    shutil.rmtree(path)
    return True
