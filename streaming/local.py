"""`LocalDataset`: random access and iteration over a dataset directory already on local disk.

Unlike mosaicml-streaming's, it reads compressed shards too: a compressed shard is
decompressed on its first access (beside the original, or into memory if the directory is
read-only). It does not import torch, yet works as a map-style dataset with a `DataLoader`.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterator, Sequence
from itertools import accumulate
from typing import Any

import numpy as np

from streaming.format.reader import open_shards
from streaming.format.shard_list import shard_samples


class LocalDataset:
    """A map-style dataset over a local MDS, JSONL, CSV, TSV or XSV dataset directory.

    Args:
        local: the dataset directory (the one holding `index.json`, or its parent with `split`).
        split: an optional sub-directory of `local`, such as ``"train"``.
        allow_unsafe_types: read `pkl` columns, which can run code; only for trusted data.
        validate_hash: check each shard file against this hash algorithm of `index.json`
            (e.g. ``"xxh64"``) before it serves a byte: downloaded, decompressed or already
            there. A record of the files checked (by path, size, mtime, inode and digest, in
            the user's cache folder) spares re-hashing an unchanged file in later processes.

    ``ds[i]`` returns ``{column: value}``; ``ds[2:5]`` and ``ds[[1, 7]]`` return lists of them.
    """

    def __init__(
        self,
        local: str,
        split: str | None = None,
        allow_unsafe_types: bool = False,
        validate_hash: str | None = None,
    ) -> None:
        self.local = os.fspath(local)
        self.split = split
        self.dirname = os.path.join(self.local, split) if split else self.local
        self.shards = open_shards(self.dirname, validate_hash, allow_unsafe_types)
        if validate_hash:
            # Each file is hashed once per node per version: a record (kept in the user's cache
            # folder, not in the dataset) vouches for it in later processes and runs.
            from streaming.cache.verified import attach

            attach(self.shards)
        self.samples_per_shard = shard_samples(self.shards)  # the index's column: no reader built
        self._ends = list(accumulate(int(n) for n in self.samples_per_shard))
        self._starts = [0, *self._ends[:-1]]
        self.num_samples = self._ends[-1] if self._ends else 0

    @property
    def size(self) -> int:
        """The number of samples."""
        return self.num_samples

    def __len__(self) -> int:
        return self.num_samples

    def get_item(self, idx: int) -> dict[str, Any]:
        """Sample `idx` (negative counts from the end)."""
        n = self.num_samples
        if idx < 0:
            idx += n
        if not 0 <= idx < n:
            raise IndexError(f"Sample index {idx} is out of range for {n} samples")
        shard = bisect.bisect_right(self._ends, idx)
        return self.shards[shard].get_item(idx - self._starts[shard])

    def __getitem__(self, idx: int | slice | Sequence[int] | np.ndarray) -> Any:
        if isinstance(idx, (int, np.integer)) and not isinstance(idx, bool):
            return self.get_item(int(idx))
        if isinstance(idx, slice):
            return [self.get_item(i) for i in range(*idx.indices(self.num_samples))]
        if isinstance(idx, np.ndarray):
            if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
                raise TypeError(f"Index arrays must be 1-D integers, got {idx.dtype} {idx.shape}")
            return [self.get_item(int(i)) for i in idx]
        if isinstance(idx, Sequence) and not isinstance(idx, (str, bytes)):
            return [self.get_item(int(i)) for i in idx]
        raise TypeError(
            f"Index must be an int, a slice, a sequence of ints or an int array, got "
            f"{type(idx).__name__}"
        )

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for shard in self.shards:
            get = shard.get_item
            for i in range(shard.samples):
                yield get(i)
