"""File locks that coordinate the processes of one user on one node over one cache directory.

``flock`` locks belong to an open file description, so the kernel drops them when the process
dies, SIGKILL included: a killed job never leaves a lock that blocks the next one, and the lock
files left behind are empty and harmless. The lock files live in the stream directory's private
meta directory (`streaming.cache.paths.meta_dir`), never in the user's data directory, and are
opened with ``O_NOFOLLOW``: a symbolic link planted at a lock's name is refused, not followed.
Each shard has two lock files under ``<meta dir>/locks/``:

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

from streaming.cache.paths import make_private_dirs, meta_dir
from streaming.cache.safefs import open_nofollow

__all__ = ["LOCK_DIR", "lock_dir", "lock_path", "exclusive", "SharedLock", "try_exclusive"]

#: The folder of the lock files inside a meta directory.
LOCK_DIR = "locks"


_dirs: dict[tuple[str, str, str], str] = {}


def lock_dir(stream_dirname: str) -> str:
    """The folder (created 0700) of the lock files of the stream directory `stream_dirname`
    (remembered per process while it exists: the checks run once)."""
    key = (stream_dirname, os.environ.get("XDG_CACHE_HOME", ""), os.path.expanduser("~"))
    found = _dirs.get(key)
    if found is None or not os.path.isdir(found):
        found = _dirs[key] = make_private_dirs(meta_dir(stream_dirname), LOCK_DIR)
    return found


def lock_path(stream_dirname: str, name: str) -> str:
    """The lock file `name` of the stream directory `stream_dirname`. Nested shard names
    (``part-00000/shard.00000.mds``, as `merge_index` writes) are flattened."""
    return os.path.join(lock_dir(stream_dirname), quote(name, safe=""))


def _open(path: str) -> int:
    return open_nofollow(path, os.O_RDWR | os.O_CREAT, 0o600)


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
        """Drop the lock."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        self.release()
