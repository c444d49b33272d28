"""``random`` batching (the default): every batch mixes samples of all streams at random."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from streaming.ordering.batching.batches import resample, to_samples
from streaming.ordering.batching.settings import OrderingSettings, Topology
from streaming.ordering.partition import get_partitions
from streaming.ordering.shuffle import get_shuffle


def batch_random(
    settings: OrderingSettings, topology: Topology, epoch: int, sample_in_epoch: int
) -> NDArray[np.int64]:
    """The epoch's sample IDs for ``random`` batching.

    1. Resample all streams together: shuffle units and the big-to-small map.
    2. Partition the epoch's big IDs over the topology, dropping the first ``sample_in_epoch``.
    3. If ``shuffle``, permute big IDs with the shuffle algorithm over the shuffle units (so
       each canonical node keeps its shards, up/down-sampled).
    4. Map big IDs to sample IDs; ``-1`` stays padding.

    Returns:
        int64 array (nodes, ranks per node, workers per rank, batches per worker, batch size).
    """
    units, small_per_big = resample(settings, epoch)
    batch_size = settings.checked_batch_size()
    big_ids = get_partitions(
        settings.partition_algo,
        len(small_per_big),
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
        order = get_shuffle(
            settings.shuffle_algo,
            units,
            settings.canonical_nodes,
            settings.shuffle_seed,
            epoch,
            settings.block_size,
        )
    return to_samples(big_ids, small_per_big, order)
