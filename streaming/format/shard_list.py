"""Lazy sequences of shard readers: a `Shard` is built when it is first indexed.

`ShardList` holds one index's `IndexTable`; `ShardChain` joins the lists of several streams.
Both behave as read-only sequences of `Shard` (``len``, indexing, slicing, iteration), and give
what a dataset needs of every shard at once as arrays (`samples`, `file_bytes`), so that
opening a dataset of a million shards builds only the readers it reads.
"""

from __future__ import annotations

import bisect
import operator
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from streaming.format.index_table import IndexTable
from streaming.format.shard import Shard

__all__ = ["ShardChain", "ShardList", "shard_file_bytes", "shard_samples"]

Builder = Callable[[str, dict[str, Any], int], Shard]


class ShardList(Sequence[Shard]):
    """The readers of one index's shards, built on first access.

    Args:
        table: the index, column-wise.
        build: ``build(dirname, entry, shard_id)`` makes the reader of one shard.
        dirname: the dataset directory.
    """

    def __init__(self, table: IndexTable, build: Builder, dirname: str) -> None:
        self.table = table
        self.dirname = dirname
        self._build = build
        self._built: dict[int, Shard] = {}
        self._hooks: list[Callable[[list[Shard]], None]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, at: Any) -> Any:
        if isinstance(at, slice):
            return [self[i] for i in range(*at.indices(len(self)))]
        i = operator.index(at)
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"Shard index {at} is out of range for {n} shards")
        shard = self._built.get(i)
        if shard is None:
            with self._lock:
                shard = self._built.get(i)
                if shard is None:
                    shard = self._build(self.dirname, self.table.entry(i), i)
                    for hook in self._hooks:
                        hook([shard])
                    self._built[i] = shard
        return shard

    def __iter__(self) -> Iterator[Shard]:
        for i in range(len(self)):
            yield self[i]

    @property
    def samples(self) -> np.ndarray:
        """Samples of each shard (int64), without building any reader."""
        return self.table.samples

    def file_bytes(self) -> np.ndarray:
        """Bytes of each shard's files, raw and compressed together."""
        return self.table.file_bytes()

    def attach_each(self, hook: Callable[[list[Shard]], None]) -> None:
        """Call ``hook([shard])`` on each reader built so far and each built from now on (a
        module-level function, so that the list still pickles)."""
        with self._lock:
            self._hooks.append(hook)
            for shard in self._built.values():
                hook([shard])

    def __getstate__(self) -> dict:
        # Readers are rebuilt in the new process on first use; the table travels as arrays.
        state = dict(self.__dict__)
        state["_built"] = {}
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


class ShardChain(Sequence[Shard]):
    """Several shard sequences (one per stream) as one; ``chain += shards`` appends one."""

    def __init__(self, parts: Sequence[Sequence[Shard]] = ()) -> None:
        self.parts: list[Sequence[Shard]] = []
        self._ends: list[int] = []
        for part in parts:
            self += part

    def __iadd__(self, part: Sequence[Shard]) -> ShardChain:
        self.parts.append(part)
        self._ends.append((self._ends[-1] if self._ends else 0) + len(part))
        return self

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def __getitem__(self, at: Any) -> Any:
        if isinstance(at, slice):
            return [self[i] for i in range(*at.indices(len(self)))]
        i = operator.index(at)
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"Shard index {at} is out of range for {n} shards")
        p = bisect.bisect_right(self._ends, i)
        return self.parts[p][i - (self._ends[p - 1] if p else 0)]

    def __iter__(self) -> Iterator[Shard]:
        for part in self.parts:
            yield from part

    @property
    def samples(self) -> np.ndarray:
        """Samples of each shard (int64)."""
        return np.concatenate([shard_samples(p) for p in self.parts] or [np.zeros(0, np.int64)])

    def file_bytes(self) -> np.ndarray:
        """Bytes of each shard's files, raw and compressed together."""
        return np.concatenate([shard_file_bytes(p) for p in self.parts] or [np.zeros(0, np.int64)])

    def attach_each(self, hook: Callable[[list[Shard]], None]) -> None:
        """`ShardList.attach_each` on each part (a plain list gets ``hook(list)`` now)."""
        for part in self.parts:
            if hasattr(part, "attach_each"):
                part.attach_each(hook)  # type: ignore[attr-defined]
            else:
                hook(list(part))


def shard_samples(shards: Sequence[Shard]) -> np.ndarray:
    """Samples of each shard (int64): from the columns of a lazy sequence, else read off each."""
    if isinstance(shards, ShardList | ShardChain):
        return np.asarray(shards.samples, np.int64)
    return np.array([s.samples for s in shards], np.int64)


def shard_file_bytes(shards: Sequence[Shard]) -> np.ndarray:
    """Bytes of each shard's files, raw and compressed together (int64)."""
    if isinstance(shards, ShardList | ShardChain):
        return np.asarray(shards.file_bytes(), np.int64)
    return np.array(
        [sum(r["bytes"] + (z["bytes"] if z else 0) for r, z in s.file_pairs()) for s in shards],
        np.int64,
    )
