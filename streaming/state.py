"""Resumption state: what `StreamingDataset.state_dict` saves, and which epoch the next
``__iter__`` plays.

The state is mosaicml-streaming 0.13.0's, key for key (``epoch``, ``sample_in_epoch``,
``num_canonical_nodes``, ``shuffle_seed``, ``initial_physical_nodes``), so checkpoints move
between the two. Where the peer parks a loaded state in shared memory for later, here it is a
plain value held by the dataset object (`EpochCursor`), applied by the next ``__iter__``.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "EpochCursor",
    "Progress",
    "ResolvedSettings",
    "ResumeState",
    "WorkerProgress",
    "parse_state",
]

STATE_KEYS = (
    "epoch",
    "sample_in_epoch",
    "num_canonical_nodes",
    "shuffle_seed",
    "initial_physical_nodes",
)


@dataclass(frozen=True)
class WorkerProgress:
    """Where one DataLoader worker stood in its share of an epoch: worker `id` of `num_workers`
    had yielded `yielded` of the samples it plays from ``sample_in_epoch`` on. Saved (under the
    key ``"worker"``) by ``state_dict()`` called inside a worker, as torchdata's
    ``StatefulDataLoader`` does, and handed back to the same worker on resume."""

    id: int
    num_workers: int
    yielded: int

    def as_dict(self) -> dict[str, int]:
        return {"id": self.id, "num_workers": self.num_workers, "yielded": self.yielded}


@dataclass(frozen=True)
class ResumeState:
    """A loaded state; fields the checkpoint lacks (or holds as None) are None."""

    epoch: int
    sample_in_epoch: int
    num_canonical_nodes: int | None = None
    shuffle_seed: int | None = None
    initial_physical_nodes: int | None = None
    worker: WorkerProgress | None = None


@dataclass(frozen=True)
class ResolvedSettings:
    """The ordering settings an epoch plays with once defaults and a loaded state are applied
    (`StreamingDataset.resolved_settings`): ``num_canonical_nodes`` and
    ``shuffle_block_size`` are never None; ``initial_physical_nodes`` is None until a loaded
    state sets it (the state then saves the current node count)."""

    num_canonical_nodes: int
    shuffle_seed: int
    shuffle_block_size: int
    initial_physical_nodes: int | None = None

    def as_dict(self) -> dict[str, int | None]:
        return {
            "num_canonical_nodes": self.num_canonical_nodes,
            "shuffle_seed": self.shuffle_seed,
            "shuffle_block_size": self.shuffle_block_size,
            "initial_physical_nodes": self.initial_physical_nodes,
        }


@dataclass
class Progress:
    """The iteration (one ``__iter__``) this process is playing: `epoch` from `sample_in_epoch`,
    `total` samples of it for this process (a count, or a function that counts them, waiting
    for the node's shared order if need be), `yielded` so far; `worker` is set inside a
    DataLoader worker, and `skip` is how many of its samples a loaded worker state skipped."""

    epoch: int
    sample_in_epoch: int
    worker: tuple[int, int] | None
    total: int | Callable[[], int]
    skip: int = 0
    yielded: int = 0

    def total_count(self) -> int:
        """`total`, counted now if it was left as a function."""
        if callable(self.total):
            self.total = self.total()
        return self.total

    def __getstate__(self) -> dict[str, Any]:
        self.total_count()  # a copy keeps the count, not the mapped order
        return dict(self.__dict__)


def _int_or_none(obj: dict[str, Any], key: str, minimum: int) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    try:
        value = operator.index(value)
    except TypeError:
        raise ValueError(f"Resumption state {key}={value!r} is not an integer") from None
    if value < minimum:
        raise ValueError(f"Resumption state {key}={value} must be >= {minimum}")
    return value


def parse_state(obj: dict[str, Any]) -> ResumeState:
    """Check a state dict (ours or the peer's) and return it as a `ResumeState`.

    ``epoch`` may be -1 (a state saved before the first epoch began); ``sample_in_epoch`` None
    means 0; the other keys may be None or missing.
    """
    if not isinstance(obj, dict):
        raise TypeError(f"A dataset state must be a dict, got {type(obj).__name__}")
    epoch = _int_or_none(obj, "epoch", -1)
    if epoch is None:
        raise ValueError(f"Resumption state has no `epoch`: {obj!r}")
    worker = obj.get("worker")
    if worker is not None:
        if not isinstance(worker, dict):
            raise ValueError(f"Resumption state worker={worker!r} is not a dict")
        worker = WorkerProgress(
            id=_int_or_none(worker, "id", 0) or 0,
            num_workers=_int_or_none(worker, "num_workers", 1) or 1,
            yielded=_int_or_none(worker, "yielded", 0) or 0,
        )
    return ResumeState(
        epoch=epoch,
        sample_in_epoch=_int_or_none(obj, "sample_in_epoch", 0) or 0,
        num_canonical_nodes=_int_or_none(obj, "num_canonical_nodes", 1),
        shuffle_seed=_int_or_none(obj, "shuffle_seed", 0),
        initial_physical_nodes=_int_or_none(obj, "initial_physical_nodes", 1),
        worker=worker,
    )


#: Fields of the shared record of the last state loaded in the main process: a generation (0:
#: none loaded), then the state's five values (-1 for None; epoch is stored plus one).
_RECORD = 6


MAX_WORKER_SLOTS = 256


class EpochCursor:
    """The dataset's position across epochs: the next epoch to play and a pending resume.

    The next epoch counts ``__iter__`` calls, as the peer's shared ``next_epoch`` does. A loaded
    state applies to the next ``__iter__`` if its epoch is not behind the next epoch (else it is
    stale and ignored, as the peer).

    DataLoader workers iterate copies of the dataset, so the count is also kept in one slot per
    worker of an anonymous shared array (``multiprocessing.RawArray``: no name, nothing left
    behind; it is inherited by forked workers and handed to spawned ones). Worker ``w`` only
    writes slot ``w``, so workers never race; the main process reads the largest slot. That is
    how a plain ``DataLoader`` with non-persistent workers advances epochs, and how the main
    process's ``state_dict`` knows the epoch its workers are playing. A state loaded in the main
    process is also written to a small anonymous shared record that workers check at each
    ``__iter__`` (`sync`), so persistent workers started earlier pick it up. Pickled other than
    into a new process (e.g. ``copy.deepcopy``), the slots and the record become private copies.
    """

    def __init__(self) -> None:
        self.next_epoch = 0
        self.resume: ResumeState | None = None
        self.slots: Any = _shared_slots()
        # The last state loaded outside DataLoader workers, shared with them the way the slots
        # are, so that persistent workers started before ``load_state_dict`` still see it.
        self.record: Any = _shared_slots(_RECORD)
        self.seen = 0  # the record generation this process has adopted
        self.owner = os.getpid()  # the process whose iterations `seen` describes
        self.progress: Progress | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if not _spawning():
            state["slots"] = list(self.slots)
            state["record"] = list(self.record)
        return state

    def load(self, state: ResumeState, share: bool) -> None:
        """Resume from `state` at the next ``__iter__``; with `share` (outside DataLoader
        workers), also at the next ``__iter__`` of the workers already running."""
        self.resume = state
        if not share:
            return
        record = self.record
        values = (
            state.epoch + 1,
            state.sample_in_epoch,
            state.num_canonical_nodes,
            state.shuffle_seed,
            state.initial_physical_nodes,
        )
        for i, value in enumerate(values, 1):
            record[i] = -1 if value is None else value
        record[0] = self.seen = record[0] + 1  # written last: readers check it first

    def sync(self) -> None:
        """Adopt a state that the main process loaded after this (worker) process copied the
        dataset, if any, from the worker's second ``__iter__`` on.

        A worker's first ``__iter__`` plays the epoch the DataLoader iterator that started it
        began: a state loaded after that (even before this worker got to its first sample) is
        for the next iterator, as with the peer, whose workers claim their epoch together."""
        pid = os.getpid()
        if self.owner != pid:  # the first __iter__ of this process: keep the copy it started with
            self.owner = pid
            return
        record = self.record
        generation = record[0]
        if generation == self.seen:
            return
        values = [None if v == -1 else int(v) for v in record[1:_RECORD]]
        self.seen = generation
        self.resume = ResumeState(values[0] - 1, *values[1:])  # type: ignore[operator, arg-type]

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def presumed(self, worker: int) -> int:
        """The epoch worker `worker` (0 without workers) would play next."""
        slot = self.slots[worker] if worker < len(self.slots) else 0
        return max(self.next_epoch, slot)

    def advance(self, worker: int, epoch: int) -> None:
        """Worker `worker` plays `epoch`: the next one is ``epoch + 1``."""
        self.next_epoch = epoch + 1
        if worker < len(self.slots):
            self.slots[worker] = epoch + 1

    def latest(self) -> int:
        """The next epoch as the main process sees it: the furthest any worker got."""
        return max(self.next_epoch, max(self.slots))

    def pending(self, presumed_epoch: int) -> ResumeState | None:
        """The loaded state if it applies to `presumed_epoch`, else None."""
        if self.resume is not None and self.resume.epoch >= presumed_epoch:
            return self.resume
        return None


def _shared_slots(size: int = MAX_WORKER_SLOTS) -> Any:
    try:
        from multiprocessing.sharedctypes import RawArray

        return RawArray("q", size)
    except OSError:  # no shared memory available: a private counter (persistent workers only)
        return [0] * size


def shared_counters(size: int) -> Any:
    """`size` int64 counters shared with DataLoader workers the way the epoch slots are (an
    anonymous `RawArray`, inherited or handed over at spawn; nothing named, nothing to clean)."""
    return _shared_slots(size)


def portable(counters: Any) -> Any:
    """What to pickle for `counters`: themselves when starting a worker, else a private copy."""
    return counters if _spawning() else list(counters)


def _spawning() -> bool:
    from multiprocessing.context import get_spawning_popen

    return get_spawning_popen() is not None
