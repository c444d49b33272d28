"""Resampling: turn each stream's samples per epoch into per-shard draws and sample IDs.

Once every stream's ``choose`` is known (`weigh_streams`), each epoch

1. splits a stream's ``choose`` over its shards (`sample_shards`): whole repeats of the stream
   give every shard the same multiple of its size; the fractional rest is filled by picking
   *granules* of ``sampling_granularity`` consecutive samples of a shard in random order;
2. expands every shard's draw into *shuffle units* (a whole shard per full repeat, then a
   partial unit) and into the *big-to-small* map: position ``i`` of the resampled epoch ("big"
   sample ``i``) reads underlying ("small") sample ``small_per_big[i]``. A partial unit takes a
   random subset of the shard, in sample order.

The shuffles then permute big IDs shard-aware by the shuffle units, and the batching methods map
big IDs back through ``small_per_big``.

Seeds, as mosaicml-streaming 0.13.0 uses them (its ``get_sampling`` and
``StreamingDataset.resample_streams``):

* the granule order uses ``rng(seed + epoch)`` only if ``shuffle`` and ``sampling_method ==
  'balanced'``, else ``rng(seed)``;
* the subsets of partial units use ``rng(seed + epoch)`` if ``balanced`` (whether or not
  ``shuffle``), else ``rng(seed)``; one generator serves every shard of every stream resampled in
  one call, in shard order.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from streaming.ordering.shuffle.spans import segment_positions

__all__ = ["SAMPLING_METHODS", "resample_streams", "resample_streams_lazily", "sample_shards"]

SAMPLING_METHODS = ("balanced", "fixed")


def _check_at_least(name: str, value: int, minimum: int) -> int:
    value = operator.index(value)
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return value


def sample_shards(
    shard_sizes: ArrayLike,
    choose: int,
    granularity: int,
    seed: int,
    epoch: int,
    use_epoch: bool,
) -> NDArray[np.int64]:
    """How many samples to draw from each shard of one stream (the peer's ``get_sampling``).

    ``choose // N`` whole repeats give shard ``s`` that many times its size; if ``choose`` is a
    multiple of ``N`` (the stream's samples) that is all. Otherwise each shard is cut into picks
    of ``granularity`` samples (its last pick shorter), the picks of all shards are permuted with
    ``rng(seed + epoch)`` (``rng(seed)`` unless ``use_epoch``), and picks are taken in that order,
    the last one clipped, until ``choose % N`` more samples are drawn.

    Quirk kept from the peer: an empty shard overwrites the size of the pick before it (its
    neighbour's last pick, or for a leading empty shard the stream's very last pick) with
    ``granularity``, so such a pick may count for more samples than the shard has left.

    Args:
        shard_sizes: Underlying samples of each of the stream's shards.
        choose: Samples to draw from the stream this epoch (>= 0).
        granularity: Samples per pick (``sampling_granularity``, >= 1).
        seed: ``shuffle_seed`` (>= 0).
        epoch: The epoch (>= 0).
        use_epoch: Whether the pick order changes with the epoch.

    Returns:
        int64 array: samples drawn from each shard.
    """
    choose = _check_at_least("choose", choose, 0)
    granularity = _check_at_least("sampling_granularity", granularity, 1)
    seed = _check_at_least("shuffle_seed", seed, 0)
    epoch = _check_at_least("epoch", epoch, 0)
    sizes = np.asarray(shard_sizes, dtype=np.int64)
    total = int(sizes.sum())
    if not total:
        return np.zeros_like(sizes)
    repeats, rest = divmod(choose, total)
    if not rest:
        return sizes * repeats

    picks_per_shard = (sizes + granularity - 1) // granularity
    shard_of_pick = np.repeat(np.arange(len(sizes)), picks_per_shard)
    pick_sizes = np.full(len(shard_of_pick), granularity, np.int64)
    # The same fancy assignment as the peer, duplicate indices (empty shards) included.
    pick_sizes[np.cumsum(picks_per_shard) - 1] = sizes - (picks_per_shard - 1) * granularity

    rng = np.random.default_rng(seed + epoch if use_epoch else seed)
    order = rng.permutation(len(shard_of_pick))
    # Take picks in that order until ``rest`` samples are drawn; the last one is clipped.
    reached = np.cumsum(pick_sizes[order])
    last = int(np.searchsorted(reached, rest))
    taken = pick_sizes[order[: last + 1]]
    taken[-1] -= reached[last] - rest
    drawn = sizes * repeats
    np.add.at(drawn, shard_of_pick[order[: last + 1]], taken)
    return drawn


def _units(sizes: NDArray[np.int64], drawn: NDArray[np.int64]) -> NDArray[np.int64]:
    """One stream's shuffle units: per shard, ``drawn // size`` whole shards, then the rest."""
    full, part = np.divmod(drawn, np.maximum(sizes, 1))  # empty shards draw nothing
    num_units = full + (part > 0)
    units = np.repeat(sizes, num_units)
    has_part = np.flatnonzero(part)
    units[(np.cumsum(num_units) - 1)[has_part]] = part[has_part]
    return units


def _expand_stream(
    sizes: NDArray[np.int64],
    drawn: NDArray[np.int64],
    sample_offsets: NDArray[np.int64],
    rng: np.random.Generator,
) -> NDArray[np.int64]:
    """Sample IDs of one stream's shuffle units, given samples drawn per shard.

    Each unit reads its shard's samples from the first (`segment_positions`, one array); a
    partial unit then gets a random subset of the shard instead, sorted (one rng call per shard,
    in shard order).
    """
    full, part = np.divmod(drawn, np.maximum(sizes, 1))
    num_units = full + (part > 0)
    ids = segment_positions(np.repeat(sample_offsets, num_units), _units(sizes, drawn))
    starts = np.cumsum(drawn) - drawn
    for shard in np.flatnonzero(part).tolist():
        size, count = int(sizes[shard]), int(part[shard])
        chosen = rng.choice(size, count, False)
        chosen.sort()
        begin = int(starts[shard] + full[shard] * size)
        ids[begin : begin + count] = sample_offsets[shard] + chosen
    return ids


def resample_streams(
    shard_sizes_per_stream: Sequence[ArrayLike],
    choose_per_stream: ArrayLike,
    *,
    seed: int,
    epoch: int,
    sampling_method: str = "balanced",
    sampling_granularity: int = 1,
    shuffle: bool = False,
    stream_id: int | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Up/down-sample the streams for one epoch (the peer's ``resample_streams``).

    Args:
        shard_sizes_per_stream: Per stream, its shards' sample counts. Shards are numbered, and
            their samples given global IDs, across all streams in this order.
        choose_per_stream: Samples per epoch of each stream (`StreamWeights.choose`).
        seed: ``shuffle_seed`` (>= 0).
        epoch: The epoch (>= 0).
        sampling_method: ``'balanced'`` draws the partial repeats anew each epoch, ``'fixed'``
            draws the same ones every epoch.
        sampling_granularity: Samples per pick when splitting a partial repeat over shards.
        shuffle: The dataset's ``shuffle``: with ``'balanced'``, it makes the split over shards
            change with the epoch too.
        stream_id: Resample only this stream (with a fresh generator), or all if None.

    Returns:
        ``(shuffle_units, small_per_big)``: the resampled shard sizes to shuffle by (empty
        draws left out), and the underlying sample ID of each resampled ("big") sample.

    Raises:
        ValueError: An unknown sampling method, a negative seed or epoch, a granularity below 1,
            a negative choose, or nothing drawn at all (every chosen stream has choose 0).
    """
    units, small_per_big = resample_streams_lazily(
        shard_sizes_per_stream,
        choose_per_stream,
        seed=seed,
        epoch=epoch,
        sampling_method=sampling_method,
        sampling_granularity=sampling_granularity,
        shuffle=shuffle,
        stream_id=stream_id,
    )
    if small_per_big is None:
        small_per_big = np.arange(int(units.sum()), dtype=np.int64)
    return units, small_per_big


def resample_streams_lazily(
    shard_sizes_per_stream: Sequence[ArrayLike],
    choose_per_stream: ArrayLike,
    *,
    seed: int,
    epoch: int,
    sampling_method: str = "balanced",
    sampling_granularity: int = 1,
    shuffle: bool = False,
    stream_id: int | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.int64] | None]:
    """`resample_streams`, except that ``small_per_big`` is None when it is the identity.

    That is the common case of every shard drawn exactly once (one stream, or several without
    weights or ``epoch_size``): big sample ``i`` is sample ``i``, and the map (as large as the
    epoch) is neither built nor applied.
    """
    if sampling_method not in SAMPLING_METHODS:
        raise ValueError(
            f"Unknown sampling_method {sampling_method!r}: use one of {', '.join(SAMPLING_METHODS)}"
        )
    balanced = sampling_method == "balanced"
    per_stream = [np.asarray(sizes, dtype=np.int64).reshape(-1) for sizes in shard_sizes_per_stream]
    choose_per_stream = np.asarray(choose_per_stream).reshape(-1)
    if len(choose_per_stream) != len(per_stream):
        raise ValueError(
            f"Got {len(choose_per_stream)} choose values for {len(per_stream)} streams: give one "
            "per stream"
        )
    all_sizes = np.concatenate(per_stream) if per_stream else np.zeros(0, np.int64)
    sample_offsets = np.cumsum(all_sizes) - all_sizes
    shard_offsets = np.cumsum([0] + [len(sizes) for sizes in per_stream])

    streams = range(len(per_stream)) if stream_id is None else [stream_id]
    drawn = [
        sample_shards(
            per_stream[stream],
            choose_per_stream[stream],
            sampling_granularity,
            seed,
            epoch,
            use_epoch=shuffle and balanced,
        )
        for stream in streams
    ]
    units = [_units(per_stream[stream], draw) for stream, draw in zip(streams, drawn, strict=True)]
    total = sum(int(draw.sum()) for draw in drawn)
    if not total:
        which = "stream " + str(stream_id) if stream_id is not None else "any stream"
        raise ValueError(
            f"Nothing to draw from {which} this epoch (choose is 0): raise the stream's "
            "proportion, repeat or choose, or the epoch_size"
        )
    all_units = np.concatenate(units).astype(np.int64, copy=False)
    first = int(sample_offsets[shard_offsets[streams[0]]])  # total > 0, so shards exist
    if first == 0 and all(
        np.array_equal(draw, per_stream[stream])
        for stream, draw in zip(streams, drawn, strict=True)
    ):
        return all_units, None  # every shard once, from sample 0: the identity

    rng = np.random.default_rng(int(seed) + int(epoch) if balanced else int(seed))
    ids = []
    for stream, draw in zip(streams, drawn, strict=True):
        offsets = sample_offsets[shard_offsets[stream] : shard_offsets[stream + 1]]
        ids.append(_expand_stream(per_stream[stream], draw, offsets, rng))
    small_per_big = ids[0] if len(ids) == 1 else np.concatenate(ids)
    return all_units, small_per_big.astype(np.int64, copy=False)
