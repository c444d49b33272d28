"""The naive shuffle: one global permutation per epoch, blind to shards and nodes.

The most random order possible, and the worst for downloads: every node soon needs every shard.
Fit for small datasets on a single node.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from streaming.ordering.shuffle.spans import check_shard_sizes, make_rng


def shuffle_naive(
    shard_sizes: ArrayLike,
    num_canonical_nodes: int,
    seed: int,
    epoch: int,
    block_size: int = 1 << 18,
) -> NDArray[np.int64]:
    """Shuffle all samples together: ``rng(seed + epoch).permutation(N)``.

    Args:
        shard_sizes: number of samples in each shard, in shard order.
        num_canonical_nodes: ignored (kept so every algorithm takes the same arguments).
        seed: the run's base seed.
        epoch: the epoch, added to the seed, so each epoch gets its own order.
        block_size: ignored.

    Returns:
        The epoch's order: position ``i`` of the output holds the sample ID to visit ``i``-th.
    """
    num_samples = int(check_shard_sizes(shard_sizes).sum())
    return make_rng(seed, epoch).permutation(num_samples).astype(np.int64, copy=False)
