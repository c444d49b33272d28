"""py1s: shuffle the span order within each canonical node, then the samples within each span.

A node reads its spans one after the other, so it needs about one shard in cache at a time.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from streaming.ordering.shuffle.spans import order_spans_for_epoch, shuffle_segments


def shuffle_py1s(
    shard_sizes: ArrayLike,
    num_canonical_nodes: int,
    seed: int,
    epoch: int,
    block_size: int = 1 << 18,
) -> NDArray[np.int64]:
    """Shuffle spans within each canonical node, then samples within each span.

    1. ``rng(seed)`` orders the shards once per run; the layout is cut into canonical nodes.
    2. ``rng(seed + epoch)`` shuffles the span order inside every node, node by node.
    3. The same generator then shuffles the samples inside each span, in output order.

    Args:
        shard_sizes: number of samples in each shard, in shard order.
        num_canonical_nodes: number of canonical nodes (at least 1).
        seed: the run's base seed.
        epoch: the epoch, added to the seed for the per-epoch draws.
        block_size: ignored (the unit of shuffle is the span).

    Returns:
        The epoch's order: position ``i`` of the output holds the sample ID to visit ``i``-th.
    """
    spans = order_spans_for_epoch(shard_sizes, num_canonical_nodes, seed, epoch)
    shuffle_segments(spans.epoch_rng, spans.ids, spans.span_sizes)
    return spans.ids
