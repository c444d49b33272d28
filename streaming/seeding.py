"""Per-sample seeding: every random draw made while a sample is read or transformed is a pure
function of (seed, epoch, sample id), so a resumed run, another worker count or another rank
draws exactly what an uninterrupted run drew for the same sample.

Before a reader's ``get_item`` (a typed reader, a subclass's ``__getitem__``) and before the
adapters' per-sample ``transform``, `sample_rng` seeds the three global generators a transform
written the usual way draws from: ``torch``'s default CPU generator, ``numpy.random``'s global
``RandomState`` and ``random``'s. The seed mixes (seed, epoch, sample id) with the device
pipeline's `streaming.vision.augment.sample_seed`, so the CPU and device paths agree on how a
sample's randomness is keyed; a `stage` keeps the reader's draws and the adapter transform's
draws apart.

In the process that trains (``num_workers=0``) the generators' states are saved before the
sample and restored after it: the trainer's own draws (dropout, its samplers) are exactly what
they would be without reading data. Saving numpy's and random's states is what costs (a few
hundred microseconds a sample, see the README), so a loader that reads a whole batch in this
process saves and restores them once around the batch instead (`batch_guard`, which the adapters'
`CursorLoader` uses); inside it each sample is only seeded. In a DataLoader worker nothing else
draws from them, so they are only seeded.

The dataset's read loop records the sample being read (`current_sample`), so code that handles
the sample after it is yielded (`seeded`) seeds from the same key without being told the id.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import get_worker_info

from streaming.vision.augment import sample_seed

__all__ = [
    "SampleKey", "sample_rng", "batch_guard", "guarded_batches", "set_current_sample",
    "current_sample", "seeded",
]  # fmt: skip

#: `SampleKey.stage` of a reader's own ``get_item`` and of an adapter's ``transform``.
READ_STAGE = 0
TRANSFORM_STAGE = 1

_U32 = 0xFFFFFFFF


class SampleKey(NamedTuple):
    """What a sample's random draws are a function of."""

    seed: int
    epoch: int
    sample_id: int

    def seed_for(self, stage: int = READ_STAGE) -> int:
        """The 63-bit seed of this sample in `stage` (`sample_seed`, mixed again by stage)."""
        base = sample_seed(self.seed, self.epoch, self.sample_id)
        return base if stage == READ_STAGE else sample_seed(base, stage, 0)


def _seed_all(seed: int) -> None:
    torch.default_generator.manual_seed(seed)
    np.random.seed(seed & _U32)  # numpy takes 32 bits (a tuple costs 5x more to seed)
    random.seed(seed)


@contextmanager
def sample_rng(
    key: SampleKey, stage: int = READ_STAGE, restore: bool | None = None
) -> Iterator[None]:
    """Seed ``torch`` (CPU), ``numpy.random`` and ``random`` for sample `key` in `stage`; with
    `restore` put their previous states back after (default: outside DataLoader workers, unless
    a `batch_guard` restores them around the whole batch).

    CUDA generators are neither seeded nor touched: a per-sample transform runs on the CPU.
    """
    if restore is None:
        restore = get_worker_info() is None and not getattr(_current, "guarded", False)
    if not restore:
        _seed_all(key.seed_for(stage))
        yield
        return
    saved = (torch.get_rng_state(), np.random.get_state(), random.getstate())
    try:
        _seed_all(key.seed_for(stage))
        yield
    finally:
        torch.set_rng_state(saved[0])
        np.random.set_state(saved[1])
        random.setstate(saved[2])


_current = threading.local()


def guarded_batches(batches: Iterator[Any], guard: bool = True) -> Iterator[Any]:
    """`batches`, each fetched under a `batch_guard` when `guard` (a loader reading in this
    process: ``num_workers=0``)."""
    if not guard:
        yield from batches
        return
    while True:
        with batch_guard():
            try:
                batch = next(batches)
            except StopIteration:
                return
        yield batch


@contextmanager
def batch_guard() -> Iterator[None]:
    """Save the global generators' states, read (samples seeded without a restore of their
    own), then restore them: one save and restore per batch instead of per sample."""
    if getattr(_current, "guarded", False):
        yield
        return
    saved = (torch.get_rng_state(), np.random.get_state(), random.getstate())
    _current.guarded = True
    try:
        yield
    finally:
        _current.guarded = False
        torch.set_rng_state(saved[0])
        np.random.set_state(saved[1])
        random.setstate(saved[2])


def set_current_sample(key: SampleKey | None) -> None:
    """Record the sample this thread is reading (the dataset's read loop does it per sample)."""
    _current.key = key


def current_sample() -> SampleKey | None:
    """The sample this thread last read (None if it read none)."""
    return getattr(_current, "key", None)


def seeded(fn: Callable[..., Any], stage: int = TRANSFORM_STAGE) -> Callable[..., Any]:
    """`fn` (a per-sample transform), called under `sample_rng` of the sample last read in this
    thread; called as is where no sample was read through a `StreamingDataset`."""

    def call(*args: Any, **kwargs: Any) -> Any:
        key = current_sample()
        if key is None:
            return fn(*args, **kwargs)
        with sample_rng(key, stage):
            return fn(*args, **kwargs)

    call.__wrapped__ = fn  # type: ignore[attr-defined]
    return call
