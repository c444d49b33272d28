"""The pieces the per-stream batching methods share: resampled, shuffled stream partitions, global
batches in delivery order, stream interleaving, and the resume-pad-deal tail.

A partition has shape (nodes, ranks, workers, batches, batch). The DataLoaders deliver it step by
step, a step being one batch of one worker on every rank: ``transpose(3, 2, 0, 1, 4)`` puts it in
that order (batches, workers, nodes, ranks, batch), and the reverse (`deal`) turns a sequence of
global batches back into a partition.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import NDArray

from streaming.ordering.batching.settings import BatchingWarning, OrderingSettings, Topology
from streaming.ordering.mixing.resample import resample_streams_lazily
from streaming.ordering.partition import get_partitions
from streaming.ordering.shuffle import get_shuffle, get_shuffle_compact

DELIVERY_ORDER = (3, 2, 0, 1, 4)
MAP_CHUNK = 1 << 20


def resample(
    settings: OrderingSettings, epoch: int, stream_id: int | None = None
) -> tuple[NDArray[np.int64], NDArray[np.int64] | None]:
    """This epoch's ``(shuffle_units, small_per_big)`` of all streams, or of one.

    ``small_per_big`` is None when it is the identity (`resample_streams_lazily`); the number
    of big samples is always ``shuffle_units.sum()``.
    """
    return resample_streams_lazily(
        settings.shard_sizes,
        settings.choose,
        seed=settings.shuffle_seed,
        epoch=epoch,
        sampling_method=settings.sampling_method,
        sampling_granularity=settings.sampling_granularity,
        shuffle=settings.shuffle,
        stream_id=stream_id,
    )


def to_samples(
    big_ids: NDArray[np.int64],
    small_per_big: NDArray[np.int64] | None,
    order: NDArray[np.signedinteger] | None = None,
) -> NDArray[np.int64]:
    """Map a partition of big IDs through the shuffle ``order`` (if any), then to sample IDs
    (unless ``small_per_big`` is None, the identity); ``-1`` stays padding.

    Both maps are composed into one table first. `big_ids` and `order` must be arrays the caller
    owns and no longer needs (fresh from `get_partitions` and `shuffle_big_ids`): they are mapped in
    place, and `big_ids` is returned.
    """
    table = order
    if small_per_big is not None:
        table = small_per_big if order is None else map_in_place(order, small_per_big)
    return big_ids if table is None else map_in_place(big_ids, table)


def shuffle_big_ids(
    settings: OrderingSettings,
    units: NDArray[np.int64],
    epoch: int,
    block_size: int,
    compact: bool,
) -> NDArray[np.signedinteger]:
    """The shuffle of the big IDs over the shuffle units. With `compact` (for an identity
    ``small_per_big``, where the order holds only indices) it may be int32: half the memory."""
    shuffle = get_shuffle_compact if compact else get_shuffle
    return shuffle(
        settings.shuffle_algo,
        units,
        settings.canonical_nodes,
        settings.shuffle_seed,
        epoch,
        block_size,
    )


def map_in_place(ids: NDArray[np.signedinteger], table: NDArray) -> NDArray[np.signedinteger]:
    """``np.where(ids != -1, table[ids], -1)``, written into `ids` (any layout) chunk by chunk,
    so that no temporary as large as `ids` is made. Returns `ids`."""
    flat = ids.ravel(order="K")  # a view in memory order, unless the layout is unusual
    if flat.base is None:
        return np.where(ids != -1, table[ids], -1).astype(ids.dtype, copy=False)
    for begin in range(0, len(flat), MAP_CHUNK):
        chunk = flat[begin : begin + MAP_CHUNK]
        padding = chunk == -1
        chunk[...] = table[chunk]  # -1 reads the last entry: reset next
        chunk[padding] = -1
    return ids


def stream_partition(
    settings: OrderingSettings,
    epoch: int,
    stream_id: int,
    num_nodes: int,
    topology: Topology,
    batch_size: int,
    zero_block_is_error: bool = False,
) -> NDArray[np.int64]:
    """One stream's resampled epoch partitioned (from the start) and shuffled on its own.

    Its shuffle block is the stream's share of ``shuffle_block_size``, so the blocks over all
    streams add up to about the one the user set.
    """
    units, small_per_big = resample(settings, epoch, stream_id)
    big_ids = get_partitions(
        settings.partition_algo,
        int(units.sum()),
        settings.canonical_nodes,
        num_nodes,
        topology.ranks_per_node,
        topology.workers_per_rank,
        batch_size,
        0,
        settings.initial_physical_nodes,
    )
    if not settings.shuffle:
        return to_samples(big_ids, small_per_big)
    block_size = int(settings.block_size * settings.proportion[stream_id])
    if zero_block_is_error and not block_size:
        raise ValueError(
            f"Stream {stream_id}'s shuffle block (shuffle_block_size {settings.block_size} x "
            f"proportion {settings.proportion[stream_id]}) is 0 samples: raise "
            "shuffle_block_size or the stream's proportion"
        )
    order = shuffle_big_ids(settings, units, epoch, block_size, small_per_big is None)
    return to_samples(big_ids, small_per_big, order)


def count_full(batches: NDArray[np.int64]) -> int:
    """Rows without padding (``-1``)."""
    return int(np.count_nonzero(batches.min(axis=1) >= 0))


def warn_dropped(method: str, stream_id: int) -> None:
    warnings.warn(
        f"`{method}` batching: stream {stream_id} does not fill its last batches, which are "
        "dropped",
        BatchingWarning,
        stacklevel=3,
    )


def warn_inexact_resume(method: str, sample_in_epoch: int, global_batch_size: int) -> None:
    warnings.warn(
        f"`{method}` batching resumes only at a global batch boundary: sample_in_epoch="
        f"{sample_in_epoch} is not a multiple of the global batch size {global_batch_size}, so "
        f"training resumes after the last whole global batch "
        f"(sample {sample_in_epoch - sample_in_epoch % global_batch_size}). Keep the global "
        "batch size of the original run for an exact resumption.",
        BatchingWarning,
        stacklevel=3,
    )


def interleave(rng: np.random.Generator, batches_per_stream: list[int]) -> NDArray[np.int64]:
    """Indices that interleave streams' batches (stored stream after stream) in random order.

    Each slot gets a stream drawn by ``rng.shuffle`` of the streams' labels; each stream's
    batches keep their own order.
    """
    origins = np.repeat(np.arange(len(batches_per_stream), dtype=np.int64), batches_per_stream)
    rng.shuffle(origins)
    index = np.empty(len(origins), np.int64)
    index[np.argsort(origins, kind="stable")] = np.arange(len(origins))
    return index


def deal(
    global_batches: NDArray[np.int64],
    topology: Topology,
    batch_size: int,
    sample_in_epoch: int,
) -> NDArray[np.int64]:
    """Skip the global batches already trained on, pad with ``-1`` batches to a whole number of
    steps per worker, and reshape to (nodes, ranks, workers, batches, batch)."""
    global_batch_size = global_batches.shape[1]
    global_batches = global_batches[sample_in_epoch // global_batch_size :]
    step = global_batch_size * topology.workers_per_rank
    if global_batches.size % step:
        missing = (step - global_batches.size % step) // global_batch_size
        global_batches = np.concatenate(
            (global_batches, np.full((missing, global_batch_size), -1, np.int64))
        )
    return global_batches.reshape(
        -1, topology.workers_per_rank, topology.num_nodes, topology.ranks_per_node, batch_size
    ).transpose(2, 3, 1, 0, 4)
