"""The benchmark's data: the same bytes for every library, generated fast enough not to matter.

Every sample is a slice of one pseudo-random pool (128 MiB from `numpy.random.default_rng(seed)`),
so the payload is incompressible and byte-identical whichever library writes it, and `label` is
the sample index, which lets each worker check what it reads. Needs numpy only: it runs in every
library's venv.

    tokens: 1,000,000 samples of {tokens: 2,048 B, label: int}        (2.05 GB)
    images:    50,000 samples of {image: 80-120 KB, label: int}       (about 5.0 GB)

`scale` shrinks the sample counts (at least 1 sample).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

POOL_BYTES = 128 << 20
SEED = 1234
_BLOCK = 1 << 16  # samples whose offsets are computed in one numpy call
_MIX = 2654435761  # Knuth's multiplicative hash: offsets and lengths that look random but are cheap


@dataclass(frozen=True)
class Spec:
    """One benchmark dataset: its payload column, how many samples, and their sizes."""

    name: str
    column: str  # the payload column (bytes); the other column is `label` (int)
    num_samples: int  # at scale 1
    min_bytes: int
    max_bytes: int  # inclusive

    def count(self, scale: float) -> int:
        return max(1, int(round(self.num_samples * scale)))

    def sizes(self, start: int, stop: int) -> np.ndarray:
        """Payload length of samples [start, stop), a pure function of the index."""
        idx = np.arange(start, stop, dtype=np.uint64)
        if self.min_bytes == self.max_bytes:
            return np.full(stop - start, self.min_bytes, dtype=np.int64)
        span = np.uint64(self.max_bytes - self.min_bytes + 1)
        return (self.min_bytes + (idx * np.uint64(40503) + np.uint64(17)) % span).astype(np.int64)

    def offsets(self, start: int, stop: int) -> np.ndarray:
        """Where in the pool each sample's payload begins."""
        idx = np.arange(start, stop, dtype=np.uint64)
        room = np.uint64(POOL_BYTES - self.max_bytes)
        return ((idx * np.uint64(_MIX)) % room).astype(np.int64)

    def payload_bytes(self, scale: float) -> int:
        """Total payload (sum of the byte column) at this scale."""
        n, total = self.count(scale), 0
        for start in range(0, n, _BLOCK):
            total += int(self.sizes(start, min(n, start + _BLOCK)).sum())
        return total


DATASETS = {
    "tokens": Spec("tokens", "tokens", 1_000_000, 2048, 2048),
    "images": Spec("images", "image", 50_000, 80_000, 120_000),
}

_pool: bytes | None = None


def pool() -> bytes:
    """The shared random pool (built once per process, about 0.1 s)."""
    global _pool
    if _pool is None:
        _pool = np.random.default_rng(SEED).bytes(POOL_BYTES)
    return _pool


def samples(spec: Spec, scale: float) -> Iterator[dict]:
    """Yield {column: bytes, 'label': index} for every sample, in index order."""
    data, column, n = pool(), spec.column, spec.count(scale)
    for start in range(0, n, _BLOCK):
        stop = min(n, start + _BLOCK)
        offs = spec.offsets(start, stop).tolist()
        ends = (spec.offsets(start, stop) + spec.sizes(start, stop)).tolist()
        for i, (a, b) in enumerate(zip(offs, ends, strict=True), start):
            yield {column: data[a:b], "label": i}


def expected(spec: Spec, index: int) -> bytes:
    """The payload of one sample, to check what a library read back."""
    a = int(spec.offsets(index, index + 1)[0])
    return pool()[a : a + int(spec.sizes(index, index + 1)[0])]
