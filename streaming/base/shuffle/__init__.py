"""``streaming.base.shuffle``: the shuffle algorithms, bit-identical to the peer's
(see `streaming.ordering.shuffle`), under the peer's names."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from streaming.ordering.shuffle import SHUFFLE_ALGOS
from streaming.ordering.shuffle import get_shuffle as _get_shuffle
from streaming.ordering.shuffle import shuffle_naive as get_shuffle_naive
from streaming.ordering.shuffle import shuffle_py1br as get_shuffle_py1br
from streaming.ordering.shuffle import shuffle_py1e as get_shuffle_py1e
from streaming.ordering.shuffle import shuffle_py1s as get_shuffle_py1s
from streaming.ordering.shuffle import shuffle_py2s as get_shuffle_py2s

#: Algorithm name -> function (the peer's ``algos``).
algos = dict(SHUFFLE_ALGOS)


def get_shuffle(
    algo: str,
    shard_sizes: NDArray[np.int64],
    num_canonical_nodes: int,
    seed: int,
    epoch: int,
    block_size: int = 1 << 18,
) -> NDArray[np.int64]:
    """The epoch's sample order for shuffle algorithm `algo` (see
    `streaming.ordering.shuffle.get_shuffle`); an unknown name raises `ValueError`."""
    return _get_shuffle(algo, shard_sizes, num_canonical_nodes, seed, epoch, block_size)


__all__ = [
    "algos",
    "get_shuffle",
    "get_shuffle_naive",
    "get_shuffle_py1br",
    "get_shuffle_py1e",
    "get_shuffle_py1s",
    "get_shuffle_py2s",
]
