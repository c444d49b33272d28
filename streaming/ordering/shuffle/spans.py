"""Spans: the building blocks shared by the span-based shuffles (py1s, py2s, py1br, py1e).

A span is a run of consecutive positions in a *layout*, an array of sample IDs that holds every
shard's samples in one piece. The span-based shuffles all follow the same plan:

1. Lay the shards out in an order drawn once per run (``rng(seed)``), so that each canonical
   node always owns the same shards, whatever the epoch.
2. Cut that layout into ``num_canonical_nodes`` contiguous parts of about ``N / NCN`` samples
   (`divide_spans`); a shard that straddles a boundary is split in two.
3. Each epoch (``rng(seed + epoch)``), shuffle the order of the spans inside each part, then
   shuffle samples in some algorithm-specific way that never crosses a part boundary.

Bit-identical output with mosaicml-streaming needs the same numpy ``Generator`` calls, in the
same order, on arrays of the same lengths. The calls that draw random numbers therefore stay in
loops over spans (each ``shuffle`` consumes a data-dependent amount of the stream), while
everything around them (building the layout, dividing spans, gathering samples) is vectorised.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from streaming.ordering.shuffle.draws import shuffle_segments


def check_shard_sizes(shard_sizes: ArrayLike) -> NDArray[np.int64]:
    """Return `shard_sizes` as a 1-D int64 array, or raise ValueError saying what is wrong."""
    sizes = np.asarray(shard_sizes)
    if sizes.ndim != 1:
        raise ValueError(f"shard_sizes must be 1-D (one size per shard), got shape {sizes.shape}")
    if sizes.size and sizes.dtype.kind not in "iu":
        raise ValueError(f"shard_sizes must be integers, got dtype {sizes.dtype}")
    sizes = sizes.astype(np.int64)
    if sizes.size and sizes.min() < 0:
        shard = int(np.argmin(sizes))
        raise ValueError(f"shard_sizes[{shard}] is {sizes[shard]}: a shard cannot be negative")
    return sizes


def check_num_canonical_nodes(num_canonical_nodes: int) -> int:
    """Return `num_canonical_nodes` as an int, or raise ValueError if it is below 1."""
    if int(num_canonical_nodes) < 1:
        raise ValueError(f"num_canonical_nodes must be at least 1, got {num_canonical_nodes}")
    return int(num_canonical_nodes)


def make_rng(seed: int, epoch: int = 0) -> np.random.Generator:
    """The PCG64 generator the peer uses: ``np.random.default_rng(seed + epoch)``."""
    value = int(seed) + int(epoch)
    if value < 0:
        raise ValueError(f"seed + epoch must be non-negative, got {seed} + {epoch} = {value}")
    return np.random.default_rng(value)


def lay_out_shards(
    shard_sizes: NDArray[np.int64], run_rng: np.random.Generator, shuffle_samples: bool
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Concatenate the shards' sample IDs in a random shard order: the run's fixed layout.

    The shard order is ``run_rng.permutation(num_shards)`` (the same draws as the peer's
    ``run_rng.shuffle(list_of_spans)``). With `shuffle_samples` (py2s), each shard's samples
    are then shuffled too, shard by shard in the new order, with the same generator.

    Returns:
        ``(layout, span_sizes)``: the sample IDs in layout order, and the size of each shard in
        layout order (the spans to divide).
    """
    order = run_rng.permutation(len(shard_sizes))
    span_sizes = shard_sizes[order]
    shard_starts = starts_of(shard_sizes)
    layout = segment_positions(shard_starts[order], span_sizes)
    if shuffle_samples:
        shuffle_segments(run_rng, layout, span_sizes)
    return layout, span_sizes


def divide_spans(
    span_sizes: ArrayLike, num_parts: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Cut consecutive spans at the boundaries of `num_parts` near-equal parts.

    The spans (given by their sizes, laid end to end from position 0) are cut wherever a part
    boundary ``N * (p + 1) // num_parts`` falls strictly inside one, so every resulting piece
    lies in exactly one part. Part ``p`` holds positions ``[N*p // num_parts, N*(p+1) //
    num_parts)``. A zero-size span stays a zero-size piece, in the first part whose end is at or
    after its position (the peer keeps them, and they take part in the later shuffles).

    Returns:
        ``(piece_sizes, part_bounds)``: the size of each piece in order, and ``num_parts + 1``
        indices such that part ``p`` owns pieces ``part_bounds[p]:part_bounds[p + 1]``.
    """
    if num_parts < 1:
        raise ValueError(f"divide_spans needs at least one part, got num_parts={num_parts}")
    sizes = np.asarray(span_sizes, dtype=np.int64)
    num_samples = int(sizes.sum())
    span_starts = starts_of(sizes)
    part_ends = num_samples * np.arange(1, num_parts + 1, dtype=np.int64) // num_parts
    inner = part_ends[(part_ends > 0) & (part_ends < num_samples)]
    cuts = np.setdiff1d(inner, span_starts)  # boundaries strictly inside a span
    piece_starts = np.sort(np.concatenate([span_starts, cuts]))
    piece_sizes = np.diff(piece_starts, append=num_samples)
    piece_parts = np.searchsorted(part_ends, piece_starts + piece_sizes, side="left")
    part_bounds = np.searchsorted(piece_parts, np.arange(num_parts + 1), side="left")
    return piece_sizes, part_bounds


def segment_positions(
    starts: NDArray[np.int64],
    sizes: NDArray[np.int64],
    dtype: type[np.signedinteger] = np.int64,
    out: NDArray[np.signedinteger] | None = None,
) -> NDArray[np.signedinteger]:
    """Concatenate ``arange(start, start + size)`` for each (start, size), without a Python loop.

    One array and no temporary of its size: it starts as all ones (each element is its
    predecessor plus one), each segment's first element is set to the jump from the end of the
    previous segment, and an in-place cumulative sum turns the steps into the values. The result
    is of `dtype`, which must hold every value; it is written to `out` if given (a contiguous
    array of the total size, whose dtype is used).
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    starts = np.asarray(starts, dtype=np.int64)
    nonempty = sizes > 0
    starts, sizes = starts[nonempty], sizes[nonempty]
    total = int(sizes.sum())
    if out is None:
        positions = np.ones(total, dtype=dtype)
    elif len(out) != total or not out.flags.c_contiguous:
        raise ValueError(f"segment_positions: out holds {len(out)} items, not {total} in a row")
    else:
        positions = out
        positions.fill(1)
    if len(positions):
        firsts = starts_of(sizes)
        positions[0] = starts[0]
        positions[firsts[1:]] = starts[1:] - (starts[:-1] + sizes[:-1] - 1)
        np.cumsum(positions, dtype=positions.dtype, out=positions)  # each sum is a value
    return positions


def gather(
    layout: NDArray[np.int64], starts: NDArray[np.int64], sizes: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Concatenate ``layout[start:start + size]`` for each (start, size)."""
    return layout[segment_positions(starts, sizes)]


def shuffle_span_order(
    rng: np.random.Generator, part_bounds: NDArray[np.int64], part: int
) -> NDArray[np.int64]:
    """The indices of part `part`'s spans in a random order (the peer's list shuffle)."""
    begin, end = int(part_bounds[part]), int(part_bounds[part + 1])
    return begin + rng.permutation(end - begin)


def shuffle_span_orders(
    rng: np.random.Generator, part_bounds: NDArray[np.int64]
) -> NDArray[np.int64]:
    """The indices of all spans, shuffled within each part, parts in order."""
    orders = [shuffle_span_order(rng, part_bounds, p) for p in range(len(part_bounds) - 1)]
    return np.concatenate(orders).astype(np.int64)


def starts_of(sizes: NDArray[np.int64]) -> NDArray[np.int64]:
    """Where each of consecutive segments of the given sizes starts."""
    return np.cumsum(sizes) - sizes


def part_sample_bounds(num_samples: int, num_parts: int) -> list[int]:
    """The ``num_parts + 1`` sample positions where the parts start and end."""
    return [num_samples * part // num_parts for part in range(num_parts + 1)]


class EpochSpans(NamedTuple):
    """The samples of one epoch, in span order, before any shuffle inside a span.

    Attributes:
        ids: sample IDs, spans laid end to end, each part's spans in this epoch's order.
        span_sizes: the size of each span of `ids`, in order.
        part_bounds: part ``p`` owns spans ``part_bounds[p]:part_bounds[p + 1]``.
        epoch_rng: ``rng(seed + epoch)``, after the draws that ordered the spans.
    """

    ids: NDArray[np.int64]
    span_sizes: NDArray[np.int64]
    part_bounds: NDArray[np.int64]
    epoch_rng: np.random.Generator


def order_spans_for_epoch(
    shard_sizes: ArrayLike,
    num_canonical_nodes: int,
    seed: int,
    epoch: int,
    dtype: type[np.signedinteger] = np.int64,
) -> EpochSpans:
    """Steps 1 to 3 of the module docstring, shared by py1s, py1br and py1e.

    The shard order is drawn from ``rng(seed)``; then, from ``rng(seed + epoch)``, the order of
    the spans within each canonical node, all nodes before any further draw. The layout is never
    built: each span's first sample ID (its shard's first ID plus how far into the shard the
    span starts) is enough to write the epoch's IDs directly (`segment_positions`), as
    `dtype` (which must hold the sample count).
    """
    first_ids, span_sizes, part_bounds, epoch_rng = plan_epoch_spans(
        shard_sizes, num_canonical_nodes, seed, epoch
    )
    ids = segment_positions(first_ids, span_sizes, dtype)
    return EpochSpans(ids, span_sizes, part_bounds, epoch_rng)


def plan_epoch_spans(
    shard_sizes: ArrayLike, num_canonical_nodes: int, seed: int, epoch: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], np.random.Generator]:
    """`order_spans_for_epoch` without the sample IDs: O(spans), whatever the sample count.

    Returns:
        ``(first_ids, span_sizes, part_bounds, epoch_rng)``: each span's first sample ID and
        size, in this epoch's span order (span ``i`` holds IDs ``first_ids[i] + arange(
        span_sizes[i])`` before any shuffle inside it), the spans of each part, and
        ``rng(seed + epoch)`` after the draws that ordered the spans.
    """
    sizes = check_shard_sizes(shard_sizes)
    num_parts = check_num_canonical_nodes(num_canonical_nodes)
    shard_order = make_rng(seed).permutation(len(sizes))  # the peer's run_rng.shuffle(spans)
    shard_spans = sizes[shard_order]
    span_sizes, part_bounds = divide_spans(shard_spans, num_parts)
    # The layout shard each span lies in, and so the sample ID the span starts with.
    shard_layout_starts = starts_of(shard_spans)
    span_layout_starts = starts_of(span_sizes)
    shard = np.searchsorted(shard_layout_starts, span_layout_starts, side="right") - 1
    first_ids = starts_of(sizes)[shard_order][shard]
    first_ids += span_layout_starts - shard_layout_starts[shard]
    epoch_rng = make_rng(seed, epoch)
    order = shuffle_span_orders(epoch_rng, part_bounds)
    return first_ids[order], span_sizes[order], part_bounds, epoch_rng
