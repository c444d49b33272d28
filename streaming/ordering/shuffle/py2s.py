"""py2s: like py1s, but samples are also scattered inside each shard once per run.

Shuffling each shard before it is cut at canonical-node boundaries makes the split of a
straddling shard random instead of "first part / second part". It costs a second pass of
shuffles, so it is about half as fast as py1s.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from streaming.ordering.shuffle.spans import (
    check_num_canonical_nodes,
    check_shard_sizes,
    divide_spans,
    gather,
    lay_out_shards,
    make_rng,
    shuffle_segments,
    shuffle_span_order,
    starts_of,
)


def shuffle_py2s(
    shard_sizes: ArrayLike,
    num_canonical_nodes: int,
    seed: int,
    epoch: int,
    block_size: int = 1 << 18,
) -> NDArray[np.int64]:
    """Shuffle samples within shards twice: once per run, and once per epoch after splitting.

    1. ``rng(seed)`` orders the shards, then shuffles each shard's samples (shards in the new
       order); the result is cut into canonical nodes.
    2. For each canonical node in turn, ``rng(seed + epoch)`` shuffles the order of its spans,
       then the samples inside each of them (unlike py1s, node by node: that is the peer's
       order of draws).

    Args:
        shard_sizes: number of samples in each shard, in shard order.
        num_canonical_nodes: number of canonical nodes (at least 1).
        seed: the run's base seed.
        epoch: the epoch, added to the seed for the per-epoch draws.
        block_size: ignored (the unit of shuffle is the span).

    Returns:
        The epoch's order: position ``i`` of the output holds the sample ID to visit ``i``-th.
    """
    sizes = check_shard_sizes(shard_sizes)
    num_parts = check_num_canonical_nodes(num_canonical_nodes)
    layout, shard_spans = lay_out_shards(sizes, make_rng(seed), shuffle_samples=True)
    span_sizes, part_bounds = divide_spans(shard_spans, num_parts)
    span_starts = starts_of(span_sizes)
    epoch_rng = make_rng(seed, epoch)
    parts = [np.empty(0, np.int64)]
    for part in range(num_parts):
        order = shuffle_span_order(epoch_rng, part_bounds, part)
        ids = gather(layout, span_starts[order], span_sizes[order])
        shuffle_segments(epoch_rng, ids, span_sizes[order])
        parts.append(ids)
    return np.concatenate(parts)
