"""``random`` batching (the default): every batch mixes samples of all streams at random."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from streaming.ordering.batching.batches import resample, shuffle_big_ids, to_samples
from streaming.ordering.batching.settings import OrderingSettings, Topology
from streaming.ordering.partition import get_partitions


def batch_random(
    settings: OrderingSettings, topology: Topology, epoch: int, sample_in_epoch: int
) -> NDArray[np.int64]:
    """The epoch's sample IDs for ``random`` batching.

    1. Resample all streams together: shuffle units and the big-to-small map.
    2. If ``shuffle``, permute big IDs with the shuffle algorithm over the shuffle units (so
       each canonical node keeps its shards, up/down-sampled).
    3. Partition the epoch's big IDs over the topology, dropping the first ``sample_in_epoch``.
    4. Map big IDs to sample IDs; ``-1`` stays padding.

    The shuffle is computed before the partition (the peer does the reverse; neither draws from
    the other's generator), so that the shuffle's temporaries are gone before the partition
    is built, and the maps are applied in place (`to_samples`).

    Returns:
        int64 array (nodes, ranks per node, workers per rank, batches per worker, batch size).
    """
    units, small_per_big = resample(settings, epoch)
    batch_size = settings.checked_batch_size()
    num_big = int(units.sum())

    def partition() -> NDArray[np.int64]:
        return get_partitions(
            settings.partition_algo,
            num_big,
            settings.canonical_nodes,
            topology.num_nodes,
            topology.ranks_per_node,
            topology.workers_per_rank,
            batch_size,
            sample_in_epoch,
            settings.initial_physical_nodes,
        )

    order = None
    if settings.shuffle:
        try:
            order = shuffle_big_ids(
                settings, units, epoch, settings.block_size, small_per_big is None
            )
        except ValueError:
            partition()  # the peer partitions first: a bad topology is the error to report
            raise
    return to_samples(partition(), small_per_big, order)
