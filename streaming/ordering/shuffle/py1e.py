"""py1e (the default): spread each span's samples over a window of about one block.

Every sample of a span gets a position near its own, jittered uniformly within half a random
window on each side; a node's samples are then read in order of position. Samples of one shard
are thus spread over about `block_size` positions, and neighbouring shards interleave. The peer
documents a smaller cache than py1br for an equally good shuffle.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike, NDArray

from streaming.ordering.shuffle.draws import draw_span_positions
from streaming.ordering.shuffle.position_sort import sort_by_position
from streaming.ordering.shuffle.spans import (
    order_spans_for_epoch,
    part_sample_bounds,
    shuffle_segments,
)


def draw_positions(
    rng: np.random.Generator, span_sizes: list[int], low: int, high: int
) -> tuple[NDArray[np.float64], bool]:
    """Jittered positions for one canonical node's samples (spans laid end to end).

    For each span in turn: draw a window ``rng.integers(low, high)``; the span's samples move
    by ``uniform(-c, c)`` with ``c = (window - span_size) / 2`` (0 if the span is larger than
    the window), clipped so no sample leaves the node. The shifts are added in place to
    ``arange(n)`` as floats (the peer's arithmetic; `draws.draw_span_positions`, in C where
    built).

    Returns:
        ``(positions, clipped)``; `clipped` tells whether some span was larger than its window.
    """
    positions = np.empty(int(np.sum(span_sizes)), np.float64)
    clipped = draw_span_positions(rng, span_sizes, low, high, positions)
    return positions, clipped


def shuffle_py1e(
    shard_sizes: ArrayLike,
    num_canonical_nodes: int,
    seed: int,
    epoch: int,
    block_size: int = 1 << 18,
) -> NDArray[np.int64]:
    """Shuffle by jittering each span's samples over a window of about `block_size`.

    1. As py1s: ``rng(seed)`` orders the shards, the layout is cut into canonical nodes, and
       ``rng(seed + epoch)`` shuffles the span order inside each node.
    2. Node by node: shuffle the samples inside each span, draw jittered positions
       (`draw_positions`, windows of ``[0.75, 1.25) * block_size``), and sort the node's
       samples by position: the order of ``np.argsort``, as the peer, computed in linear time
       (`sort_by_position`).

    Warns if a span is larger than its window (that span is then not mixed with others).

    Args:
        shard_sizes: number of samples in each shard, in shard order.
        num_canonical_nodes: number of canonical nodes (at least 1, at most the sample count).
        seed: the run's base seed.
        epoch: the epoch, added to the seed for the per-epoch draws.
        block_size: the mean window size (at least 1).

    Returns:
        The epoch's order: position ``i`` of the output holds the sample ID to visit ``i``-th.
    """
    return py1e_order(shard_sizes, num_canonical_nodes, seed, epoch, block_size, np.int64)


def py1e_order(
    shard_sizes: ArrayLike,
    num_canonical_nodes: int,
    seed: int,
    epoch: int,
    block_size: int,
    dtype: type[np.signedinteger],
) -> NDArray[np.signedinteger]:
    """`shuffle_py1e`, as `dtype` sample IDs (int32 halves the memory of a large epoch; the
    draws, and so the order, are the same for any dtype)."""
    spans = order_spans_for_epoch(shard_sizes, num_canonical_nodes, seed, epoch, dtype)
    rng, ids = spans.epoch_rng, spans.ids
    if len(ids) < num_canonical_nodes:
        raise ValueError(
            f"py1e cannot give each of the {num_canonical_nodes} canonical nodes a sample: the "
            f"dataset has only {len(ids)}. Check the shard sizes in index.json, or lower "
            f"num_canonical_nodes."
        )
    if block_size < 1:
        raise ValueError(f"py1e needs a shuffle block_size of at least 1, got {block_size}")
    low, high = int(0.75 * block_size), int(1.25 * block_size)
    bounds = part_sample_bounds(len(ids), num_canonical_nodes)
    any_clipped = False
    for node in range(num_canonical_nodes):
        node_ids = ids[bounds[node] : bounds[node + 1]]
        span_sizes = spans.span_sizes[spans.part_bounds[node] : spans.part_bounds[node + 1]]
        shuffle_segments(rng, node_ids, span_sizes)
        positions, clipped = draw_positions(rng, span_sizes.tolist(), low, high)
        sort_by_position(node_ids, positions)
        del positions
        any_clipped |= clipped
    if any_clipped:
        warnings.warn(
            f"Shuffle block_size {block_size} is smaller than some shards' spans: those spans "
            f"are not mixed with their neighbours. Set a larger shuffle_block_size for a "
            f"better shuffle.",
            stacklevel=3,
        )
    return ids
