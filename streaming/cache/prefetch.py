"""Download ahead: a thread that acquires the shards of one reader's epoch before it needs them.

The reader (one DataLoader worker, or the main process) learns its epoch chunk by chunk, as the
node's shared order becomes final (`streaming.cache.shared_order`). `ReadPlan` turns each chunk
of shard IDs into the positions where a shard is first needed (acquire it) and last needed
(release it), looking one chunk ahead: a shard not used in the rest of its chunk nor in the next
one is released, and acquired again should it come back later (a cheap mark while it is still
cached). The plan is therefore built a chunk ahead of the reader, never over the whole epoch.

`Prefetcher` walks the planned acquisitions in order in a daemon thread and acquires each
(`NodeCache.acquire`: mark in use, fetch if missing) once the reader is within `window` samples
of it (the peer's ``predownload``), and in any case as soon as the reader starts the shard
before it: one whole shard is always on its way, so downloads overlap reading even when a shard
holds far more samples than the window. The reader waits only when it outruns the thread.
"""

from __future__ import annotations

import threading

import numpy as np

from streaming.cache.node_cache import NodeCache

__all__ = ["Prefetcher", "ReadPlan"]


class ReadPlan:
    """Where a reader acquires and releases shards, chunk by chunk (see the module docstring).

    Attributes:
        held: Shards acquired by the plan and not released yet.
    """

    def __init__(self) -> None:
        self.held: set[int] = set()

    def plan(self, shards: np.ndarray, ahead: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """``(is_first, is_last)`` per position of the chunk `shards`: acquire the shard before
        reading there, release it after. `ahead` holds the next chunk's shards (None: the
        epoch ends with this chunk)."""
        n = len(shards)
        is_first = np.zeros(n, bool)
        is_last = np.zeros(n, bool)
        if not n:
            return is_first, is_last
        unique, first = np.unique(shards, return_index=True)
        _, last_reversed = np.unique(shards[::-1], return_index=True)
        new = np.fromiter((s not in self.held for s in unique.tolist()), bool, len(unique))
        is_first[first[new]] = True
        done = ~np.isin(unique, ahead) if ahead is not None else np.ones(len(unique), bool)
        is_last[n - 1 - last_reversed[done]] = True
        self.held.update(unique[~done].tolist())
        self.held.difference_update(unique[done].tolist())
        return is_first, is_last


class Prefetcher:
    """Acquire shards ahead of a reader, in a daemon thread.

    Args:
        cache: The dataset's node cache.
        window: How many samples ahead of the reader a shard may be acquired (>= 1).

    The reader adds ``(position, shard)`` acquisitions in order (`add`, which returns a ticket),
    sets `position` as it goes, calls `wait(ticket)` before a shard's first sample, and `end`
    when it has added the last; `stop()` ends the thread and returns the shards it acquired.
    """

    def __init__(self, cache: NodeCache, window: int) -> None:
        self.cache = cache
        self.position = 0
        self._plan: list[tuple[int, int]] = []
        self._ready: list[threading.Event] = []
        self._window = max(1, int(window))
        self._acquired: list[int] = []
        self._error: BaseException | None = None
        self._ended = False
        self._more = threading.Condition()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="streaming-prefetch", daemon=True)
        self._thread.start()

    def add(self, position: int, shard: int) -> int:
        """Plan to acquire `shard` for the reader's `position`; returns the ticket to wait on."""
        with self._more:
            self._plan.append((position, shard))
            self._ready.append(threading.Event())
            self._more.notify()
            return len(self._plan) - 1

    def end(self) -> None:
        """No more acquisitions will be added."""
        with self._more:
            self._ended = True
            self._more.notify()

    def _next(self, ticket: int) -> tuple[int, int] | None:
        with self._more:
            while ticket >= len(self._plan):
                if self._ended or self._stopping.is_set():
                    return None
                self._more.wait(0.05)
            return self._plan[ticket]

    def _run(self) -> None:
        ticket = 0
        try:
            previous = -1  # where the reader starts the shard acquired last
            while (entry := self._next(ticket)) is not None:
                position, shard = entry
                while position >= self.position + self._window and previous > self.position:
                    if self._stopping.wait(0.002):
                        return
                previous = position
                if self._stopping.is_set():
                    return
                self.cache.acquire(shard)
                self._acquired.append(shard)
                self._ready[ticket].set()
                ticket += 1
        except BaseException as e:  # handed to the reader, which raises it
            self._error = e
            with self._more:
                for event in self._ready:
                    event.set()

    def wait(self, ticket: int) -> None:
        """Block until acquisition `ticket` is done; raise the thread's error if it failed."""
        event = self._ready[ticket]
        if not event.is_set():
            while not event.wait(0.5):
                if not self._thread.is_alive() and not event.is_set():
                    break
        if self._error is not None:
            raise self._error
        if not event.is_set():
            shard = self._plan[ticket][1]
            raise RuntimeError(f"The prefetch thread stopped before shard {shard} was fetched")

    def stop(self) -> list[int]:
        """Stop the thread; the shards it acquired (the caller releases those still held)."""
        self._stopping.set()
        with self._more:
            self._more.notify()
        self._thread.join()
        return list(self._acquired)
