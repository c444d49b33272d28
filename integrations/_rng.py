"""The trainer-side random state a resumed run needs and a trainer does not restore by itself.

What a training step draws from the process-global generators (dropout, a model's own noise,
a loss's sampling) continues, after a resume, from the state the checkpoint recorded:

* Lightning (2.6) saves no RNG state in its checkpoints. The adapter's callback saves each
  rank's ``torch`` (CPU, and CUDA where initialized), ``numpy.random`` and ``random`` states
  (`capture_all_ranks`) and puts them back just before the first step of the resumed run
  (`restore_rank`).
* Composer saves the same states (its ``rng`` key) but restores them only when it resumes at
  the start of an epoch or spins its dataloader; a dataset that resumes itself mid-epoch (ours)
  gets no restore. The adapter's callback saves its own copy and restores it before the first
  step of a run resumed mid-epoch.

"Just before the first step" is exact when nothing between the save and the next step draws
from the global generators. The data side draws nothing there: readers and per-sample transforms
are seeded per sample and restore the trainer's state (`streaming.seeding`), and the adapters'
DataLoaders draw their workers' base seed from their own generator (`loader_generator`), not from
the global one, so starting an iterator (a new epoch, a validation pass) changes nothing.
"""

from __future__ import annotations

import random
import warnings
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

__all__ = ["capture", "capture_all_ranks", "restore", "restore_rank", "loader_generator"]

#: Seed of the adapters' DataLoader generators (the workers' base seed; reads are seeded per
#: sample, so it only decides what a worker draws outside a sample, e.g. in ``collate_fn``).
LOADER_SEED = 0x5EED


def capture() -> dict[str, Any]:
    """This process's global RNG states: ``torch`` (CPU), ``numpy``, ``python``, and ``cuda``
    (every device's) where CUDA is initialized; only tensors, numbers, strings and tuples, so a
    weights-only ``torch.load`` reads them."""
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": _numpy_state(),
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _numpy_state() -> tuple[str, torch.Tensor, int, int, float]:
    """``numpy.random``'s state in types a weights-only ``torch.load`` (Lightning's) reads."""
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    keys = torch.from_numpy(keys.astype(np.int64))
    return str(name), keys, int(pos), int(has_gauss), float(gauss)


def restore(state: dict[str, Any]) -> None:
    """Put back the states `capture` returned."""
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _rank_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def capture_all_ranks() -> list[dict[str, Any]]:
    """Every rank's `capture`, indexed by global rank (a collective: every rank calls it, as
    both trainers build a checkpoint's state on every rank)."""
    _, world_size = _rank_world()
    mine = capture()
    if world_size == 1:
        return [mine]
    gathered: list[Any] = [None] * world_size
    dist.all_gather_object(gathered, mine)
    return gathered


def restore_rank(states: list[dict[str, Any]]) -> bool:
    """Restore this rank's entry of `capture_all_ranks`'s list; False (with a warning) when the
    checkpoint was saved by fewer ranks than this run has (the data still resumes exactly; the
    random draws of the training step do not)."""
    rank, world_size = _rank_world()
    if rank >= len(states):
        warnings.warn(
            f"The checkpoint holds the RNG states of {len(states)} rank(s) and this run has "
            f"{world_size}: rank {rank} does not resume its random state, so random draws of the "
            "training step (dropout...) differ from an uninterrupted run's. Resume with the "
            "world size that saved the checkpoint for bit-identical training.",
            stacklevel=2,
        )
        return False
    restore(states[rank])
    return True


def loader_generator() -> torch.Generator:
    """A generator for a DataLoader, so that starting its iterators draws nothing from the
    global one (seeded with `LOADER_SEED`)."""
    generator = torch.Generator()
    generator.manual_seed(LOADER_SEED)
    return generator
