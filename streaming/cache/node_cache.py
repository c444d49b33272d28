"""The node-local shard cache: which shard is where, who fetches it, and what gets evicted.

Every process of a node (ranks and their DataLoader workers) that reads a dataset shares its
stream directories. They coordinate only through files (`streaming.cache.locks`): no shared
memory, nothing named per job, nothing to clean after a crash.

* **Fetched once per node.** A process that needs a missing shard takes the shard's fetch lock,
  looks again, and only then downloads (to a temporary name, renamed when whole), checks the
  hash, and decompresses. Others wait on the lock and find the shard there.
* **Eviction is LRU under `cache_limit`**, by the last time a process began to use a shard.
  The limit counts the shard files and the ``index.json`` of every evictable stream (as the
  peer), and eviction goes on until the new shard fits. Usage and the LRU order come from the
  directories' ledgers (`streaming.cache.accounting`): sizes recorded at download, uses
  appended in batches, each process reading only what was appended since it last looked, so
  a fetch costs O(1) system calls for accounting however many shards are cached. It skips
  shards in use (their use lock is held) and never touches local-only streams (no remote, or a
  remote naming the local directory in any spelling): data that exists only locally is never
  deleted. `evict` and `evict_coldest` are the public forms (the peer's
  ``StreamingDataset.evict_shard`` and ``evict_coldest_shard``); `evict_coldest`, an explicit
  and rare call, picks by the files' mtime (touched on each use too), as a user sees it.
* **Only the cache's own files are deleted**: each file the cache writes is recorded in the
  directory's ledger (`streaming.cache.ledger`), and deletions never follow a symbolic link or
  leave the stream directory (`streaming.cache.safefs`).
* **A shard deleted behind the cache's back is fetched again**: a shard is checked on disk when
  acquired, and its files are opened then, so a later deletion cannot pull them from under a
  reader.
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

from streaming.cache import verified
from streaming.cache.accounting import Accounting, shard_files
from streaming.cache.ledger import Ledger
from streaming.cache.locks import SharedLock, exclusive, lock_path, try_exclusive
from streaming.cache.reservations import in_flight, release, reserve
from streaming.cache.safefs import remove_contained
from streaming.format.errors import FormatError
from streaming.format.shard import Shard
from streaming.state import MAX_WORKER_SLOTS, portable, shared_counters

if TYPE_CHECKING:
    from streaming.stream import Stream

__all__ = ["NodeCache", "ShardInUseError", "NothingToEvictError"]

logger = logging.getLogger(__name__)


class ShardInUseError(RuntimeError):
    """`NodeCache.evict` was asked to evict a shard that a process is reading."""


class NothingToEvictError(ValueError):
    """`NodeCache.evict_coldest` found no idle evictable shard on disk (the peer's
    ``evict_coldest_shard`` raises ValueError then too)."""


_shard_files = shard_files


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
        self.shards = shards if hasattr(shards, "attach_each") else list(shards)  # lazy: kept
        self.stream_per_shard = [int(s) for s in stream_per_shard]
        self.cache_limit = cache_limit
        # hits, misses, bytes downloaded: one row per process (the main one, then each
        # DataLoader worker), so processes never race on a counter.
        self._stats = shared_counters(3 * (MAX_WORKER_SLOTS + 1))
        self._held: dict[int, tuple[SharedLock | None, int]] = {}
        self._mutex = threading.Lock()  # acquire runs in the prefetch thread, release in the reader
        self._warned = False
        verified.attach(self.shards)  # with validate_hash: each file hashed once per node
        self._book: Accounting | None = None  # built per process, on first use under a limit
        self._ledgers: dict[str, Ledger] = {}  # to append to (no replay: the book reads them)

    #: Make room the way the cache did before its ledger (stat every shard on each fetch);
    #: kept only so that ``benchmarks/scale.py --cases eviction`` can compare the two.
    scan_accounting = False

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_held"] = {}
        state["_book"] = None
        state["_ledgers"] = {}
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
        """Whether the shard comes from a remote (and so may be fetched and evicted): its
        stream is not local-only (`Stream.local_only`)."""
        return not self._local_only()[self.stream_per_shard[shard_id]]

    def _local_only(self) -> list[bool]:
        flags = self.__dict__.get("_local_flags")
        if flags is None:
            flags = self.__dict__["_local_flags"] = [s.local_only for s in self.streams]
        return flags

    def _accounting(self) -> Accounting:
        """This process's view of the usage and LRU order (built on first use)."""
        book = self._book
        if book is None:
            evictable = [not self._local_only()[s] for s in self.stream_per_shard]
            book = self._book = Accounting(self.shards, evictable)
        return book

    def _ledger(self, dirname: str) -> Ledger:
        """The ledger of `dirname`, to record files written or deleted (appends only, so the
        shard readers are not all built for the `Accounting` of a dataset without a limit)."""
        ledger = self._ledgers.get(dirname)
        if ledger is None:
            ledger = self._ledgers[dirname] = Ledger(dirname)
        return ledger

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
        """Release every shard this process holds (and write the uses it has not yet)."""
        if self._book is not None:
            self._book.flush()
        with self._mutex:
            held, self._held = self._held, {}
        for lock, _ in held.values():
            if lock is not None:
                lock.release()

    # ---- fetching ---------------------------------------------------------------------------

    def prepare(self, shard_id: int) -> None:
        """Make the shard's files local and readable: fetch (once per node), check, decompress,
        and open them (so deleting them afterwards cannot pull them from under a reader).

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
        if self._complete(shard, stream) and self._open(shard):
            self._hit(shard_id)
            return
        with exclusive(self._lock(shard_id, "fetch")):
            if self._complete(shard, stream) and self._open(shard):  # fetched meanwhile
                self._hit(shard_id)
                return
            shard.close()  # files deleted behind our back: forget what was open
            reservation = self._make_room(shard_id)
            try:
                self._fetch(shard_id)
            finally:
                if reservation is not None:
                    release(reservation)

    def _hit(self, shard_id: int) -> None:
        """The shard was found cached: mark it used (mtime; under a limit, the ledger too) and
        count the hit."""
        self._touch(self.shards[shard_id])
        if self.cache_limit:  # only eviction reads uses (and the readers' list stays lazy)
            self._accounting().note_use(shard_id)
        self._count(hits=1)

    def _fetch(self, shard_id: int) -> None:
        """Download, check and decompress the shard (the caller holds its fetch lock)."""
        shard = self.shards[shard_id]
        stream = self._stream(shard_id)
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
            except BaseException:
                self._record(shard)  # what did arrive is the cache's, to clean later
                raise
        if not stream.safe_keep_zip:
            self._drop_zips(shard)
        self._record(shard)

    @staticmethod
    def _open(shard: Shard) -> bool:
        """Open the shard's files (they stay readable if deleted later); False if one vanished
        meanwhile."""
        try:
            for role in ("raw_data", "raw_meta"):
                if shard.entry.get(role):
                    shard.buffer(role)
        except FileNotFoundError:
            shard.close()
            return False
        return True

    def _record(self, shard: Shard) -> None:
        """Log the shard's files now on disk in its directory's ledger."""
        present = {}
        for name in _shard_files(shard):
            with contextlib.suppress(FileNotFoundError):
                present[name] = os.path.getsize(os.path.join(shard.dirname, name))
        self._ledger(shard.dirname).add(present)

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

    def _drop_zips(self, shard: Shard) -> None:
        dropped = []
        for raw, zipped in shard.file_pairs():
            if zipped and os.path.isfile(os.path.join(shard.dirname, raw["basename"])):
                if remove_contained(shard.dirname, zipped["basename"]):
                    dropped.append(zipped["basename"])
        self._ledger(shard.dirname).remove(dropped)

    @staticmethod
    def _touch(shard: Shard) -> None:
        with contextlib.suppress(OSError):  # keeps a record that the file was hash-checked
            verified.touch(
                os.path.join(shard.dirname, shard.entry["raw_data"]["basename"]),
                shard.hash_record,
            )

    def _delete(self, shard: Shard) -> int:
        """Remove the shard's files (never through a link, never outside its directory);
        returns the bytes freed."""
        freed = 0
        names = _shard_files(shard)
        for name in names:
            freed += remove_contained(shard.dirname, name)
        self._ledger(shard.dirname).remove(names)
        return freed

    # ---- eviction ---------------------------------------------------------------------------

    def _on_disk(self, shard_id: int) -> tuple[int, float]:
        """(bytes, last use time) of the shard's files on disk."""
        shard = self.shards[shard_id]
        size, used = 0, 0.0
        for name in _shard_files(shard):
            try:
                st = os.lstat(os.path.join(shard.dirname, name))
            except FileNotFoundError:
                continue
            size += st.st_size
            used = max(used, st.st_mtime)
        return size, used

    def _index_bytes(self) -> int:
        """Bytes of the ``index.json`` of each evictable stream (the peer counts them); read
        once per process (an index does not change under a running dataset)."""
        total = self.__dict__.get("_index_total")
        if total is None:
            total = 0
            for stream, local in zip(self.streams, self._local_only(), strict=True):
                if not local:
                    with contextlib.suppress(FileNotFoundError):
                        total += stream.index_size()
            self.__dict__["_index_total"] = total
        return total

    def usage(self) -> int:
        """Bytes that the evictable streams take in the cache now, by their ledgers: their
        shard files and their ``index.json`` (what `cache_limit` bounds)."""
        book = self._accounting()
        with book.lock:
            book.flush()
            book.refresh()
            return book.shard_bytes() + self._index_bytes()

    def usage_on_disk(self) -> int:
        """`usage` measured by stat-ing every shard's files (O(shards); for checks)."""
        shards = sum(self._on_disk(i)[0] for i in range(len(self.shards)) if self.is_remote(i))
        return shards + self._index_bytes()

    def _evict_idle(self, shard_id: int) -> int | None:
        """Delete the shard's files if no process uses it; the bytes freed, or None if in use.
        The caller holds no lock on the shard."""
        with try_exclusive(self._lock(shard_id, "use")) as idle:
            if not idle:
                return None
            self.shards[shard_id].close()
            return self._delete(self.shards[shard_id])

    def evict(self, shard_id: int) -> int:
        """Delete the cached files of shard `shard_id` (the peer's ``evict_shard``); returns the
        bytes freed. A shard of a local-only stream is never deleted (returns 0); a shard being
        fetched is evicted once its fetch ends; the next use fetches it again.

        Raises:
            ShardInUseError: a process (this one included) holds the shard for reading.
        """
        if not self.is_remote(shard_id):
            return 0
        with exclusive(self._lock(shard_id, "fetch")):
            freed = self._evict_idle(shard_id)
        if freed is None:
            raise ShardInUseError(
                f"Shard {shard_id} ({self.shards[shard_id].where()}) is in use by a reader and "
                "cannot be evicted now: evict it after its reader releases it (end of epoch)"
            )
        return freed

    def evict_coldest(self) -> int:
        """Evict the least recently used idle shard of the evictable streams that is on disk
        (the peer's ``evict_coldest_shard``); returns the bytes freed.

        Raises:
            NothingToEvictError: no such shard (none cached, or all in use).
        """
        candidates = []
        for i in range(len(self.shards)):
            if self.is_remote(i):
                size, used = self._on_disk(i)
                if size:
                    candidates.append((used, i))
        for _, victim in sorted(candidates):
            with exclusive(self._lock(victim, "fetch")):
                freed = self._evict_idle(victim)
            if freed is not None:
                return freed
        raise NothingToEvictError(
            "No shard to evict: "
            + ("every cached shard is in use" if candidates else "no shard is cached")
            + " (only shards of streams with a remote are ever evicted)"
        )

    def _room_lock(self) -> str:
        """The dataset's lock held while making room (the first evictable stream's)."""
        first = self._local_only().index(False)
        return lock_path(self.streams[first].dirname, "room")

    @staticmethod
    def _needed(shard: Shard) -> int:
        return sum(
            raw["bytes"] + (zipped["bytes"] if zipped else 0) for raw, zipped in shard.file_pairs()
        )

    def _in_flight(self) -> dict[int, int]:
        """Shards other processes are fetching now: shard id -> bytes reserved."""
        found = {}
        dirnames = {self.streams[i].dirname for i, o in enumerate(self._local_only()) if not o}
        by_name = self.__dict__.get("_by_name")
        if by_name is None:
            by_name = self.__dict__["_by_name"] = {
                (s.dirname, s.entry["raw_data"]["basename"]): i for i, s in enumerate(self.shards)
            }
        for dirname in dirnames:

            def orphaned(name: str, dirname: str = dirname) -> None:
                shard_id = by_name.get((dirname, name))
                if shard_id is not None:  # its fetcher died: record what arrived
                    self._record(self.shards[shard_id])

            for name, nbytes in in_flight(dirname, orphaned).items():
                shard_id = by_name.get((dirname, name))
                if shard_id is not None:
                    found[shard_id] = nbytes
        return found

    def _make_room(self, shard_id: int) -> str | None:
        """Evict least recently used idle shards until `shard_id`'s files fit the limit (which
        counts every evictable stream's ``index.json`` and the downloads in flight on this
        node), then reserve its room; returns the reservation (None without a limit).

        Usage and order come from the ledgers: O(1) system calls amortized, plus the
        evictions themselves and one lock probe per shard in use that is colder than them."""
        if not self.cache_limit:
            return None
        if self.scan_accounting:
            return self._make_room_by_scan(shard_id)
        shard = self.shards[shard_id]
        needed = self._needed(shard)
        book = self._accounting()
        with exclusive(self._room_lock()), book.lock:
            flying = self._in_flight()  # first: it records what killed fetchers left
            flying.pop(shard_id, None)
            book.flush()
            book.refresh()
            usage = book.shard_bytes() + self._index_bytes()
            usage -= book.bytes_of(shard_id)  # its partial files are replaced
            for i, nbytes in flying.items():
                usage += max(0, nbytes - book.bytes_of(i))
            if usage + needed > self.cache_limit:
                for victim in book.coldest():
                    if victim == shard_id or victim in flying:
                        continue
                    listed = book.bytes_of(victim)
                    if self._evict_idle(victim) is not None:
                        usage -= listed  # its lines are gone from the ledger now
                        if usage + needed <= self.cache_limit:
                            break
            self._warn_if_over(usage + needed)
            book.maybe_compact()
            return reserve(shard.dirname, shard.entry["raw_data"]["basename"], needed)

    def _warn_if_over(self, usage: int) -> None:
        if usage > self.cache_limit and not self._warned:
            self._warned = True
            warnings.warn(
                f"cache_limit={self.cache_limit} bytes is exceeded: every cached shard is in "
                "use by a reader. Raise `cache_limit` or lower `predownload`.",
                stacklevel=4,
            )

    def _make_room_by_scan(self, shard_id: int) -> str | None:
        """`_make_room` as before the ledger: stat every shard's files on each fetch
        (O(shards)). Used only when `scan_accounting` is set, by the benchmark."""
        shard = self.shards[shard_id]
        needed = self._needed(shard)
        with exclusive(self._room_lock()):
            present = {i: self._on_disk(i) for i in range(len(self.shards)) if self.is_remote(i)}
            usage = sum(size for size, _ in present.values()) + self._index_bytes()
            usage -= present.get(shard_id, (0, 0.0))[0]  # its partial files are replaced
            flying = self._in_flight()
            flying.pop(shard_id, None)
            for i, nbytes in flying.items():
                usage += max(0, nbytes - present.get(i, (0, 0.0))[0])
            candidates = sorted(
                (used, i)
                for i, (size, used) in present.items()
                if size and i != shard_id and i not in flying
            )
            for _, victim in candidates:
                if usage + needed <= self.cache_limit:
                    break
                freed = self._evict_idle(victim)
                if freed is not None:
                    usage -= freed
            self._warn_if_over(usage + needed)
            return reserve(shard.dirname, shard.entry["raw_data"]["basename"], needed)
