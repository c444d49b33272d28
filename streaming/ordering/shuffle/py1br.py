"""py1br: shuffle within blocks of random size, staggered per canonical node.

Blocks larger than shards mix samples from several shards (a better shuffle than py1s), at the
cost of keeping a block's worth of shards in cache. Random block sizes and a per-node stagger
keep the nodes from all crossing block (and so download) boundaries at the same moment.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from streaming.ordering.shuffle.spans import order_spans_for_epoch, part_sample_bounds


def staggered_blocks(
    rng: np.random.Generator, start: int, stop: int, stagger: int, low: int, high: int
) -> list[tuple[int, int]]:
    """The blocks ``[begin, end)`` of one canonical node ``[start, stop)``, as the peer cuts them.

    Each block is drawn ``rng.integers(low, high)`` long and shifted back by `stagger`, then
    clipped to the node. The cursor advances by the clipped length, so the first two blocks
    overlap by up to `stagger` samples and the last ``stagger`` samples may fall in no block:
    a quirk of the peer, kept because the order must match it.
    """
    blocks = []
    cursor = start
    while cursor < stop:
        size = int(rng.integers(low, high))
        begin = max(cursor - stagger, start)
        end = min(cursor + size - stagger, stop)
        blocks.append((begin, end))
        cursor += end - begin
    return blocks


def shuffle_py1br(
    shard_sizes: ArrayLike,
    num_canonical_nodes: int,
    seed: int,
    epoch: int,
    block_size: int = 1 << 18,
) -> NDArray[np.int64]:
    """Shuffle samples within staggered blocks of random size inside each canonical node.

    1. As py1s: ``rng(seed)`` orders the shards, the layout is cut into canonical nodes, and
       ``rng(seed + epoch)`` shuffles the span order inside each node.
    2. One stagger per node is drawn from ``[0, 0.75 * block_size)``.
    3. Node by node, blocks of ``[0.75, 1.25) * block_size`` samples are drawn
       (`staggered_blocks`), then the samples inside each block are shuffled, in order.

    Args:
        shard_sizes: number of samples in each shard, in shard order.
        num_canonical_nodes: number of canonical nodes (at least 1).
        seed: the run's base seed.
        epoch: the epoch, added to the seed for the per-epoch draws.
        block_size: the mean block size (at least 2).

    Returns:
        The epoch's order: position ``i`` of the output holds the sample ID to visit ``i``-th.
    """
    spans = order_spans_for_epoch(shard_sizes, num_canonical_nodes, seed, epoch)
    low, high = int(0.75 * block_size), int(1.25 * block_size)
    if low < 1:
        raise ValueError(f"py1br needs a shuffle block_size of at least 2, got {block_size}")
    rng, ids = spans.epoch_rng, spans.ids
    staggers = rng.integers(0, low, num_canonical_nodes).tolist()
    bounds = part_sample_bounds(len(ids), num_canonical_nodes)
    for node, stagger in enumerate(staggers):
        for begin, end in staggered_blocks(rng, bounds[node], bounds[node + 1], stagger, low, high):
            if end - begin > 1:  # numpy draws nothing to shuffle fewer than two items
                rng.shuffle(ids[begin:end])
    return ids
