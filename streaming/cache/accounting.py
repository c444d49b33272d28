"""How much of `cache_limit` a dataset's cached shards take, and which went unused the longest:
read from the ledgers of its evictable stream directories, never by stat-ing every shard.

Each process (rank, DataLoader worker) keeps a replay of the ledgers (`streaming.cache.ledger`)
of the dataset's evictable directories and reads only the lines appended since its last look,
so making room for a fetch costs O(1) system calls amortized, whatever the number of cached
shards:

* **Sizes** are recorded when a shard is downloaded (its ``+`` lines) and forgotten when it is
  deleted (``-``): usage is the running sum of the listed shard files of this dataset (plus the
  ``index.json`` of each evictable stream, as the peer counts it).
* **Last use** is the order of each file's last ``+`` or ``u`` line. A fetch is a use. A hit
  (a shard found cached, by a process with a `cache_limit`: without one nothing reads uses) is
  buffered in the process and appended as ``u`` lines in batches:
  when `FLUSH_USES` uses are pending, when the oldest is `FLUSH_SECONDS` old, and always before
  this process makes room or reports usage. One append then costs what one use used to, spread
  over up to 64 uses. A use that is not yet written (or lost with a killed process) can only
  make an idle shard look colder than it is: shards being read are protected by their use lock,
  never by the LRU order, so this trades a little LRU precision for far fewer writes.
* **A cached file missing from the ledger** (its process was killed between the download and
  the record, or while writing the record) is adopted when a process next finds the shard
  cached: its size is read from disk once and recorded. A listed file deleted behind the
  cache's back is fetched again on its next use (and recorded again) or, if it comes up for
  eviction first, its line is dropped: usage converges to the bytes on disk either way.
* **Building it lists every shard's file names** (once per process, under a limit only),
  decoded from the index text without building the shards' readers.
* **Local-only streams** (no remote, or a remote naming the directory) have no ledger here:
  their files are never counted nor evicted, whatever a ledger of their directory says.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import threading
import time
from collections.abc import Iterator, Sequence

from streaming.cache.ledger import Ledger
from streaming.format.index_names import entry_file_names, shard_file_names
from streaming.format.shard import Shard
from streaming.format.shard_list import ShardChain, ShardList

__all__ = ["Accounting", "FLUSH_USES", "FLUSH_SECONDS", "shard_files"]

#: Pending uses that trigger an append of ``u`` lines.
FLUSH_USES = 64
#: Age in seconds of the oldest pending use that triggers an append.
FLUSH_SECONDS = 1.0


def shard_files(shard: Shard) -> list[str]:
    """Basenames of every file the shard may have on disk (raw and compressed)."""
    return entry_file_names(shard.entry)


def _files_by_shard(shards: Sequence[Shard]) -> Iterator[tuple[int, str, list[str]]]:
    """``(shard_id, dirname, file basenames)`` of every shard: read from the index text where
    the sequence is a lazy `ShardList` (or a chain of them), so no reader is built."""
    parts = shards.parts if isinstance(shards, ShardChain) else [shards]
    base = 0
    for part in parts:
        if isinstance(part, ShardChain):
            for i, dirname, names in _files_by_shard(part):
                yield base + i, dirname, names
        elif isinstance(part, ShardList):
            for i, names in enumerate(shard_file_names(part.table)):
                yield base + i, part.dirname, names
        else:
            for i, shard in enumerate(part):
                yield base + i, shard.dirname, shard_files(shard)
        base += len(part)


class Accounting:
    """The usage and LRU order of the shards of the evictable streams, for one process.

    Args:
        shards: All shards of the dataset.
        evictable: Per shard, whether its stream has a remote (only those are counted).

    Not picklable state: build one per process. Use `lock` around `refresh` and an iteration
    of `coldest` when threads of the process share it.
    """

    def __init__(self, shards: Sequence[Shard], evictable: Sequence[bool]) -> None:
        self.shards = shards
        self.lock = threading.RLock()
        self._owner: dict[tuple[str, str], int] = {}
        for shard_id, dirname, names in _files_by_shard(shards):
            if evictable[shard_id]:
                for name in names:
                    self._owner[(dirname, name)] = shard_id
        self._dirnames = sorted({dirname for dirname, _ in self._owner})
        self._ledgers: dict[str, Ledger] = {}
        self._pending: dict[str, list[tuple[str, int]]] = {}
        self._npending = 0
        self._oldest = 0.0

    def ledger(self, dirname: str) -> Ledger:
        """The ledger of the stream directory `dirname` (counting this dataset's shard files)."""
        ledger = self._ledgers.get(dirname)
        if ledger is None:
            owner = self._owner
            ledger = self._ledgers[dirname] = Ledger(
                dirname, counted=lambda name: (dirname, name) in owner
            )
        return ledger

    def refresh(self) -> None:
        """Read what every process appended to the evictable directories' ledgers since."""
        with self.lock:
            for dirname in self._dirnames:
                self.ledger(dirname).refresh()

    # ---- uses -------------------------------------------------------------------------------

    def note_use(self, shard_id: int) -> None:
        """Record that this process found shard `shard_id` cached and uses it; adopt its files
        if the ledger does not list them."""
        shard = self.shards[shard_id]
        with self.lock:
            ledger = self.ledger(shard.dirname)
            raws = [raw["basename"] for raw, _ in shard.file_pairs()]
            if any(ledger.get(name) is None for name in raws):
                ledger.refresh()  # recorded by another process since this one last looked?
                if any(ledger.get(name) is None for name in raws):
                    self._adopt(shard, ledger)
                    return  # the ``+`` lines are its use
            if not self._npending:
                self._oldest = time.monotonic()
            now = time.time_ns()
            self._pending.setdefault(shard.dirname, []).extend(
                (name, now) for name in shard_files(shard)
            )
            self._npending += 1
            if self._npending >= FLUSH_USES or time.monotonic() - self._oldest >= FLUSH_SECONDS:
                self.flush()

    @staticmethod
    def _adopt(shard: Shard, ledger: Ledger) -> None:
        present = {}
        for name in shard_files(shard):
            with contextlib.suppress(FileNotFoundError):
                present[name] = os.path.getsize(os.path.join(shard.dirname, name))
        ledger.add(present)

    def flush(self) -> None:
        """Append the pending uses to their ledgers."""
        with self.lock:
            pending, self._pending, self._npending = self._pending, {}, 0
            for dirname, uses in pending.items():
                self.ledger(dirname).use(uses)

    # ---- usage and order ----------------------------------------------------------------------

    def shard_bytes(self) -> int:
        """Bytes of this dataset's listed shard files in the evictable directories, as of the
        last `refresh`."""
        return sum(self.ledger(d).counted_bytes() for d in self._dirnames)

    def bytes_of(self, shard_id: int) -> int:
        """Bytes the ledger lists for shard `shard_id`'s files, as of the last `refresh`."""
        shard = self.shards[shard_id]
        ledger = self.ledger(shard.dirname)
        total = 0
        for name in shard_files(shard):
            entry = ledger.get(name)
            if entry is not None:
                total += entry.size
        return total

    def _coldest_in(self, dirname: str) -> Iterator[tuple[int, int]]:
        owner = self._owner
        for name, entry in self.ledger(dirname).coldest():
            shard_id = owner.get((dirname, name))
            if shard_id is not None:
                yield entry.used, shard_id

    def coldest(self) -> Iterator[int]:
        """Ids of the listed shards, least recently used first (each once), as of the last
        `refresh`. Directories are merged by the time of each file's last use."""
        if len(self._dirnames) == 1:
            merged: Iterator[tuple[int, int]] = self._coldest_in(self._dirnames[0])
        else:
            merged = heapq.merge(
                *(self._coldest_in(d) for d in self._dirnames), key=lambda pair: pair[0]
            )
        seen: set[int] = set()
        for _, shard_id in merged:
            if shard_id not in seen:
                seen.add(shard_id)
                yield shard_id

    def maybe_compact(self) -> None:
        """Compact the ledgers whose log grew well past their live files (amortized O(1))."""
        with self.lock:
            for dirname in self._dirnames:
                self.ledger(dirname).maybe_compact()
