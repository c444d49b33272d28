"""File locks that coordinate the processes of one node over one cache directory.

``flock`` locks belong to an open file description, so the kernel drops them when the process
dies, SIGKILL included: a killed job never leaves a lock that blocks the next one, and the lock
files left behind are empty and harmless. Each shard has two lock files under
``<stream dir>/.streaming/locks/``:

* ``<shard>.fetch`` (exclusive): held while one process downloads and decompresses the shard,
  so each shard is fetched once per node however many ranks and workers want it;
* ``<shard>.use`` (shared): held by every process that will read the shard soon; the evictor
  takes it exclusively without waiting, so it never deletes a shard that someone is reading.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from urllib.parse import quote

__all__ = ["LOCK_DIR", "lock_path", "exclusive", "SharedLock", "try_exclusive"]

#: Where a stream directory keeps its coordination files.
LOCK_DIR = os.path.join(".streaming", "locks")


def lock_path(dirname: str, name: str) -> str:
    """The lock file `name` of the stream directory `dirname` (its folder is created). Nested
    shard names (``part-00000/shard.00000.mds``, as `merge_index` writes) are flattened."""
    folder = os.path.join(dirname, LOCK_DIR)
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, quote(name, safe=""))


def _open(path: str) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)


@contextlib.contextmanager
def exclusive(path: str) -> Iterator[None]:
    """Hold an exclusive lock on `path` for the block, waiting for it as long as it takes."""
    fd = _open(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextlib.contextmanager
def try_exclusive(path: str) -> Iterator[bool]:
    """Try to take an exclusive lock on `path` without waiting; yields whether it was taken."""
    fd = _open(path)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
        else:
            yield True
    finally:
        os.close(fd)


class SharedLock:
    """A shared lock on `path`, held from construction until `release` (or process exit)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._fd = _open(path)
        fcntl.flock(self._fd, fcntl.LOCK_SH)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        self.release()
