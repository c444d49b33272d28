"""``per_stream`` batching: every global batch comes from a single stream."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from streaming.ordering.batching.batches import (
    DELIVERY_ORDER,
    count_full,
    deal,
    interleave,
    stream_partition,
    warn_dropped,
    warn_inexact_resume,
)
from streaming.ordering.batching.settings import OrderingSettings, Topology


def batch_per_stream(
    settings: OrderingSettings, topology: Topology, epoch: int, sample_in_epoch: int
) -> NDArray[np.int64]:
    """The epoch's sample IDs for ``per_stream`` batching.

    Each stream is resampled, partitioned over the topology (from the start) and shuffled on its
    own, then cut into global batches in delivery order; only its leading whole global batches
    are kept (with a warning if some are dropped; an error if none is left). The streams'
    batches are interleaved at random (`interleave`, ``rng(seed + epoch)`` if ``shuffle`` and
    ``balanced`` sampling, else ``rng(seed)``), each stream keeping its own order. Resumption
    skips whole global batches (warning if ``sample_in_epoch`` is not on a boundary).

    Returns:
        int64 array (nodes, ranks per node, workers per rank, batches per worker, batch size).
    """
    batch_size = settings.checked_batch_size()
    global_batch_size = batch_size * topology.num_ranks
    partitions = [
        stream_partition(settings, epoch, stream_id, topology.num_nodes, topology, batch_size)
        for stream_id in range(settings.num_streams)
    ]

    kept, counts = [], []
    for stream_id, partition in enumerate(partitions):
        batches = partition.transpose(DELIVERY_ORDER).reshape(-1, global_batch_size)
        num_full = count_full(batches)
        counts.append(num_full)
        if num_full != len(batches):
            warn_dropped("per_stream", stream_id)
        if not num_full:
            raise ValueError(
                f"Stream {stream_id} has too few samples this epoch ({(batches >= 0).sum()}) for "
                f"one whole global batch of {global_batch_size}: raise its weight, or lower the "
                "batch size"
            )
        kept.append(batches[:num_full])

    seed = settings.shuffle_seed + epoch if settings.epoch_seed_change else settings.shuffle_seed
    global_batches = np.concatenate(kept)[interleave(np.random.default_rng(seed), counts)]

    if sample_in_epoch % global_batch_size:
        warn_inexact_resume("per_stream", sample_in_epoch, global_batch_size)
    return deal(global_batches, topology, batch_size, sample_in_epoch)
