"""Shuffle algorithms: the per-epoch sample order, the same as mosaicml-streaming 0.13.0's.

Each algorithm is a pure function ``(shard_sizes, num_canonical_nodes, seed, epoch,
block_size) -> permutation of range(sum(shard_sizes))``, bit-identical to the peer's for the
same settings (with numpy 2.1.3's ``Generator`` streams). `get_shuffle` picks one by name;
`get_shuffle_compact` gives the same order as int32 where it can, for internal lookups.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike, NDArray

from streaming.ordering.shuffle.naive import shuffle_naive
from streaming.ordering.shuffle.py1br import shuffle_py1br
from streaming.ordering.shuffle.py1e import py1e_order, shuffle_py1e
from streaming.ordering.shuffle.py1s import shuffle_py1s
from streaming.ordering.shuffle.py2s import shuffle_py2s
from streaming.ordering.shuffle.spans import divide_spans

ShuffleFn = Callable[[ArrayLike, int, int, int, int], NDArray[np.int64]]

SHUFFLE_ALGOS: MappingProxyType[str, ShuffleFn] = MappingProxyType(
    {
        "naive": shuffle_naive,
        "py1br": shuffle_py1br,
        "py1e": shuffle_py1e,
        "py1s": shuffle_py1s,
        "py2s": shuffle_py2s,
    }
)


def get_shuffle(
    algo: str,
    shard_sizes: ArrayLike,
    num_canonical_nodes: int,
    seed: int,
    epoch: int,
    block_size: int = 1 << 18,
) -> NDArray[np.int64]:
    """The order in which to visit the samples this epoch, by shuffle algorithm name.

    Args:
        algo: one of ``naive``, ``py1br``, ``py1e``, ``py1s``, ``py2s`` (``shuffle_algo``).
        shard_sizes: number of samples in each shard, in shard order.
        num_canonical_nodes: number of canonical nodes; each keeps the same samples every epoch.
        seed: the run's base seed (``shuffle_seed``), fixed for the whole run.
        epoch: the epoch, added to the seed for the draws that change every epoch.
        block_size: unit of shuffle for py1br and py1e (``shuffle_block_size``).

    Returns:
        An int64 permutation of ``range(sum(shard_sizes))``: position ``i`` holds the sample
        ID to visit ``i``-th.
    """
    try:
        shuffle = SHUFFLE_ALGOS[algo]
    except KeyError:
        raise ValueError(
            f"Unknown shuffle_algo {algo!r}: use one of {', '.join(sorted(SHUFFLE_ALGOS))}"
        ) from None
    return shuffle(shard_sizes, num_canonical_nodes, seed, epoch, block_size)


def get_shuffle_compact(
    algo: str,
    shard_sizes: ArrayLike,
    num_canonical_nodes: int,
    seed: int,
    epoch: int,
    block_size: int = 1 << 18,
) -> NDArray[np.signedinteger]:
    """`get_shuffle`'s order, as int32 for py1e (the default) when the epoch has fewer than
    2**31 samples: half the memory, for callers that only use it to look samples up."""
    sizes = np.asarray(shard_sizes)
    if algo == "py1e" and sizes.size and int(sizes.sum()) < 1 << 31:
        return py1e_order(sizes, num_canonical_nodes, seed, epoch, block_size, np.int32)
    return get_shuffle(algo, shard_sizes, num_canonical_nodes, seed, epoch, block_size)


__all__ = [
    "SHUFFLE_ALGOS",
    "divide_spans",
    "get_shuffle",
    "shuffle_naive",
    "shuffle_py1br",
    "shuffle_py1e",
    "shuffle_py1s",
    "shuffle_py2s",
]
