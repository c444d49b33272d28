"""The node-local shard cache: which shard is where, who fetches it, and what gets evicted.

Every process of a node (ranks and their DataLoader workers) that reads a dataset shares its
stream directories. They coordinate only through files (`streaming.cache.locks`): no shared
memory, nothing named per job, nothing to clean after a crash.

* **Fetched once per node.** A process that needs a missing shard takes the shard's fetch lock,
  looks again, and only then downloads (to a temporary name, renamed when whole), checks the
  hash, and decompresses. Others wait on the lock and find the shard there.
* **Eviction is LRU under `cache_limit`**, by the last time a process began to use a shard
  (the file's mtime, touched on use). It skips shards in use (their use lock is held) and never
  touches streams without a remote, or whose remote is their local directory: data that exists
  only locally is never deleted.
* **A bad download is retried.** A hash mismatch or a file that does not decompress is deleted
  and fetched again, up to `download_retry` attempts, then reported naming the shard.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

from streaming.cache.locks import SharedLock, exclusive, lock_path, try_exclusive
from streaming.format.errors import FormatError
from streaming.format.shard import Shard
from streaming.state import MAX_WORKER_SLOTS, portable, shared_counters

if TYPE_CHECKING:
    from streaming.stream import Stream

__all__ = ["NodeCache"]

logger = logging.getLogger(__name__)


def _shard_files(shard: Shard) -> list[str]:
    """Basenames of every file the shard may have on disk (raw and compressed)."""
    names = []
    for raw, zipped in shard.file_pairs():
        names.append(raw["basename"])
        if zipped:
            names.append(zipped["basename"])
    return names


class NodeCache:
    """Fetching, use-tracking and eviction of a dataset's shards in its streams' directories.

    Args:
        streams: The dataset's streams.
        shards: All shards, stream after stream.
        stream_per_shard: The stream index of each shard.
        cache_limit: Most bytes the shard files of the evictable streams may take; None: no
            limit.

    The object pickles into DataLoader workers without its locks; each process tracks its own.
    """

    def __init__(
        self,
        streams: Sequence[Stream],
        shards: Sequence[Shard],
        stream_per_shard: Sequence[int],
        cache_limit: int | None = None,
    ) -> None:
        self.streams = list(streams)
        self.shards = list(shards)
        self.stream_per_shard = [int(s) for s in stream_per_shard]
        self.cache_limit = cache_limit
        # hits, misses, bytes downloaded: one row per process (the main one, then each
        # DataLoader worker), so processes never race on a counter.
        self._stats = shared_counters(3 * (MAX_WORKER_SLOTS + 1))
        self._held: dict[int, tuple[SharedLock | None, int]] = {}
        self._mutex = threading.Lock()  # acquire runs in the prefetch thread, release in the reader
        self._warned = False

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_held"] = {}
        state["_stats"] = portable(self._stats)
        del state["_mutex"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._mutex = threading.Lock()

    # ---- statistics ------------------------------------------------------------------------

    def _count(self, hits: int = 0, misses: int = 0, downloaded: int = 0) -> None:
        from torch.utils.data import get_worker_info

        info = get_worker_info()
        row = 3 * (info.id + 1 if info is not None else 0)
        if row + 2 < len(self._stats):
            self._stats[row] += hits
            self._stats[row + 1] += misses
            self._stats[row + 2] += downloaded

    def stats(self) -> dict[str, int]:
        """Shards found in the cache (``hits``), fetched (``misses``), and ``bytes_downloaded``,
        by this process and its DataLoader workers."""
        values = list(self._stats)
        return {
            "hits": sum(values[0::3]),
            "misses": sum(values[1::3]),
            "bytes_downloaded": sum(values[2::3]),
        }

    # ---- which shards can be fetched or evicted ------------------------------------------

    def _stream(self, shard_id: int) -> Stream:
        return self.streams[self.stream_per_shard[shard_id]]

    def is_remote(self, shard_id: int) -> bool:
        """Whether the shard comes from a remote (and so may be fetched and evicted)."""
        stream = self._stream(shard_id)
        return stream.remote is not None and stream.remote != stream.local

    def _lock(self, shard_id: int, kind: str) -> str:
        shard = self.shards[shard_id]
        return lock_path(shard.dirname, f"{shard.entry['raw_data']['basename']}.{kind}")

    # ---- use: acquire, release --------------------------------------------------------------

    def acquire(self, shard_id: int) -> None:
        """Mark the shard in use by this process (eviction skips it) and make it local.

        Calls nest: each `acquire` needs one `release`.
        """
        with self._mutex:
            held = self._held.get(shard_id)
            if held is not None:
                self._held[shard_id] = (held[0], held[1] + 1)
                return
            remote = self.is_remote(shard_id)
            lock = SharedLock(self._lock(shard_id, "use")) if remote else None
            self._held[shard_id] = (lock, 1)
        if not remote:
            return
        try:
            self.prepare(shard_id)
        except BaseException:
            self.release(shard_id)
            raise

    def release(self, shard_id: int) -> None:
        """Undo one `acquire`; the last one lets the evictor take the shard."""
        with self._mutex:
            lock, count = self._held[shard_id]
            if count > 1:
                self._held[shard_id] = (lock, count - 1)
                return
            del self._held[shard_id]
        if lock is not None:
            lock.release()

    def release_all(self) -> None:
        """Release every shard this process holds."""
        with self._mutex:
            held, self._held = self._held, {}
        for lock, _ in held.values():
            if lock is not None:
                lock.release()

    # ---- fetching ---------------------------------------------------------------------------

    def prepare(self, shard_id: int) -> None:
        """Make the shard's files local and readable: fetch (once per node), check, decompress.

        Raises:
            FileNotFoundError: a shard of a stream without a remote is missing.
            FormatError: the shard still fails its hash or decompression after
                `download_retry` fetches (the message names the shard).
        """
        shard = self.shards[shard_id]
        stream = self._stream(shard_id)
        if not self.is_remote(shard_id):
            if not shard.is_present():
                raise FileNotFoundError(
                    f"Shard {shard_id} is missing from {shard.dirname!r} and its stream has no "
                    f"remote to fetch it from ({shard.where()})"
                )
            return
        if self._complete(shard, stream):
            self._touch(shard)
            self._count(hits=1)
            return
        with exclusive(self._lock(shard_id, "fetch")):
            if self._complete(shard, stream):  # another process fetched it meanwhile
                self._touch(shard)
                self._count(hits=1)
                return
            self._make_room(shard_id)
            attempts = max(1, int(stream.download_retry or 1))
            for attempt in range(attempts):
                try:
                    self._count(misses=1, downloaded=stream.fetch_shard_files(shard))
                    for role in ("raw_data", "raw_meta"):
                        if shard.entry.get(role):
                            shard.buffer(role)  # checks sizes and hashes, decompresses
                    break
                except FormatError as e:
                    shard.close()
                    self._delete(shard)
                    if attempt + 1 == attempts:
                        raise type(e)(f"{e} (after {attempts} fetches from {stream.remote})") from e
                    logger.warning("Shard %d is bad (%s); fetching it again", shard_id, e)
            if not stream.safe_keep_zip:
                self._drop_zips(shard)

    @staticmethod
    def _complete(shard: Shard, stream: Stream) -> bool:
        """Whether every raw file is there (or, keeping zips, every file)."""
        for raw, zipped in shard.file_pairs():
            if not os.path.isfile(os.path.join(shard.dirname, raw["basename"])):
                return False
            if zipped and stream.keep_zip:
                if not os.path.isfile(os.path.join(shard.dirname, zipped["basename"])):
                    return False
        return True

    @staticmethod
    def _drop_zips(shard: Shard) -> None:
        for raw, zipped in shard.file_pairs():
            if zipped and os.path.isfile(os.path.join(shard.dirname, raw["basename"])):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(os.path.join(shard.dirname, zipped["basename"]))

    @staticmethod
    def _touch(shard: Shard) -> None:
        with contextlib.suppress(OSError):
            os.utime(os.path.join(shard.dirname, shard.entry["raw_data"]["basename"]))

    @staticmethod
    def _delete(shard: Shard) -> int:
        """Remove the shard's files; returns the bytes freed."""
        freed = 0
        for name in _shard_files(shard):
            path = os.path.join(shard.dirname, name)
            with contextlib.suppress(FileNotFoundError):
                freed += os.path.getsize(path)
                os.remove(path)
        return freed

    # ---- eviction ---------------------------------------------------------------------------

    def _on_disk(self, shard_id: int) -> tuple[int, float]:
        """(bytes, last use time) of the shard's files on disk."""
        shard = self.shards[shard_id]
        size, used = 0, 0.0
        for name in _shard_files(shard):
            try:
                st = os.stat(os.path.join(shard.dirname, name))
            except FileNotFoundError:
                continue
            size += st.st_size
            used = max(used, st.st_mtime)
        return size, used

    def usage(self) -> int:
        """Bytes that the evictable shards take on disk now."""
        return sum(self._on_disk(i)[0] for i in range(len(self.shards)) if self.is_remote(i))

    def _make_room(self, shard_id: int) -> None:
        """Evict least recently used idle shards until `shard_id`'s files fit the limit."""
        if not self.cache_limit:
            return
        shard = self.shards[shard_id]
        needed = sum(
            raw["bytes"] + (zipped["bytes"] if zipped else 0)
            for raw, zipped in shard.file_pairs()
        )
        present = {i: self._on_disk(i) for i in range(len(self.shards)) if self.is_remote(i)}
        usage = sum(size for size, _ in present.values())
        candidates = sorted(
            (used, i) for i, (size, used) in present.items() if size and i != shard_id
        )
        for _, victim in candidates:
            if usage + needed <= self.cache_limit:
                return
            with try_exclusive(self._lock(victim, "use")) as idle:
                if idle:
                    self.shards[victim].close()
                    usage -= self._delete(self.shards[victim])
        if usage + needed > self.cache_limit and not self._warned:
            self._warned = True
            warnings.warn(
                f"cache_limit={self.cache_limit} bytes is exceeded: every cached shard is in use "
                "by a reader. Raise `cache_limit` or lower `predownload`.",
                stacklevel=2,
            )
