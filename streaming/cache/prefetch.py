"""Download ahead: a thread that acquires the shards of one reader's epoch before it needs them.

The reader (one DataLoader worker, or the main process) knows its whole epoch: the shard of each
sample it will read. The prefetcher walks the shards in the order the reader first needs them and
acquires each (`NodeCache.acquire`: mark in use, fetch if missing) once the reader is within
`window` samples of it (the peer's ``predownload``), and in any case as soon as the reader
starts the shard before it: one whole shard is always on its way, so downloads overlap reading
even when a shard holds far more samples than the window. The reader waits only when it outruns
the thread. Acquired shards are released by the reader after their last sample.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from streaming.cache.node_cache import NodeCache

__all__ = ["Prefetcher", "UsePlan"]


class UsePlan:
    """Where each shard is first and last used in a reader's sequence of shards.

    Attributes:
        first: ``(position, shard)`` pairs in order of position.
        is_first: Per position, whether a shard is used there for the first time.
        is_last: Per position, whether a shard is used there for the last time.
    """

    def __init__(self, shard_of_position: np.ndarray) -> None:
        n = len(shard_of_position)
        shards, first = np.unique(shard_of_position, return_index=True)
        _, last_reversed = np.unique(shard_of_position[::-1], return_index=True)
        order = np.argsort(first, kind="stable")
        self.first: list[tuple[int, int]] = list(
            zip(first[order].tolist(), shards[order].tolist(), strict=True)
        )
        self.is_first = np.zeros(n, bool)
        self.is_first[first] = True
        self.is_last = np.zeros(n, bool)
        self.is_last[n - 1 - last_reversed] = True


class Prefetcher:
    """Acquire shards ahead of a reader, in a daemon thread.

    Args:
        cache: The dataset's node cache.
        plan: ``(position, shard)`` pairs: when the reader first needs each shard.
        window: How many samples ahead of the reader a shard may be acquired (>= 1).

    The reader sets `position` as it goes and calls `wait(shard)` before a shard's first
    sample; `stop()` ends the thread and returns the shards it acquired.
    """

    def __init__(self, cache: NodeCache, plan: Sequence[tuple[int, int]], window: int) -> None:
        self.cache = cache
        self.position = 0
        self._plan = list(plan)
        self._window = max(1, int(window))
        self._ready = {shard: threading.Event() for _, shard in self._plan}
        self._acquired: list[int] = []
        self._error: BaseException | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="streaming-prefetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            previous = -1  # where the reader starts the shard acquired last
            for position, shard in self._plan:
                while position >= self.position + self._window and previous > self.position:
                    if self._stopping.wait(0.002):
                        return
                previous = position
                if self._stopping.is_set():
                    return
                self.cache.acquire(shard)
                self._acquired.append(shard)
                self._ready[shard].set()
        except BaseException as e:  # handed to the reader, which raises it
            self._error = e
            for event in self._ready.values():
                event.set()

    def wait(self, shard: int) -> None:
        """Block until `shard` is acquired; raise the thread's error if it failed."""
        event = self._ready[shard]
        if not event.is_set():
            while not event.wait(0.5):
                if not self._thread.is_alive() and not event.is_set():
                    break
        if self._error is not None:
            raise self._error
        if not event.is_set():
            raise RuntimeError(f"The prefetch thread stopped before shard {shard} was fetched")

    def stop(self) -> list[int]:
        """Stop the thread; the shards it acquired (the caller releases those still held)."""
        self._stopping.set()
        self._thread.join()
        return list(self._acquired)
