"""``device_per_stream`` batching: every device batch comes from a single stream."""

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


def _node_batches(
    partitions: list[NDArray[np.int64]], node: int, nodes_per_node: int, batch_size: int
) -> tuple[list[NDArray[np.int64]], list[int]]:
    """Per stream, the whole device batches of one physical node's canonical nodes."""
    kept, counts = [], []
    for stream_id, partition in enumerate(partitions):
        own = partition[node * nodes_per_node : (node + 1) * nodes_per_node]
        samples = own.transpose(DELIVERY_ORDER).ravel()
        # Always padded, by a whole batch of -1 if it already divides (and then warned about).
        padding = batch_size - len(samples) % batch_size
        batches = np.concatenate((samples, np.full(padding, -1, np.int64))).reshape(-1, batch_size)
        num_full = count_full(batches)
        counts.append(num_full)
        if num_full != len(batches):
            warn_dropped("device_per_stream", stream_id)
        if not num_full:
            raise ValueError(
                f"Stream {stream_id} has too few samples on node {node} this epoch for one whole "
                f"device batch of {batch_size}: raise its weight, or lower the batch size"
            )
        kept.append(batches[:num_full])
    return kept, counts


def batch_device_per_stream(
    settings: OrderingSettings, topology: Topology, epoch: int, sample_in_epoch: int
) -> NDArray[np.int64]:
    """The epoch's sample IDs for ``device_per_stream`` batching.

    Each stream is resampled, partitioned with one physical node per canonical node (batch 1,
    from the start) and shuffled on its own. Each physical node takes its canonical nodes'
    samples of every stream in delivery order, cut into device batches (whole ones only), and
    interleaves its streams' batches at random (one generator, ``rng(seed + epoch)`` if
    ``shuffle`` and ``balanced`` sampling, else ``rng(seed)``, node after node). Every node is
    padded with ``-1`` batches to the same count, rounded up past a multiple of the device
    count; then step ``m`` takes batch ``m`` of every node, and consecutive device batches form
    the global batches. Resumption skips whole global batches.

    ``num_canonical_nodes`` must be a multiple of the node count.

    Returns:
        int64 array (nodes, ranks per node, workers per rank, batches per worker, batch size).
    """
    num_nodes = topology.num_nodes
    ncn = settings.canonical_nodes
    if ncn % num_nodes:
        raise ValueError(
            f"`device_per_stream` batching needs num_canonical_nodes ({ncn}) to be a multiple "
            f"of the number of nodes ({num_nodes})"
        )
    batch_size = settings.checked_batch_size()
    partitions = [
        stream_partition(settings, epoch, stream_id, ncn, topology, 1, zero_block_is_error=True)
        for stream_id in range(settings.num_streams)
    ]
    per_node = [
        _node_batches(partitions, node, ncn // num_nodes, batch_size) for node in range(num_nodes)
    ]
    most = max(sum(counts) for _, counts in per_node)
    most += topology.num_ranks - most % topology.num_ranks

    seed = settings.shuffle_seed + epoch if settings.epoch_seed_change else settings.shuffle_seed
    rng = np.random.default_rng(seed)
    steps = np.full((most, num_nodes, batch_size), -1, np.int64)
    for node, (kept, counts) in enumerate(per_node):
        batches = np.concatenate(kept)[interleave(rng, counts)]
        steps[: len(batches), node] = batches

    global_batch_size = batch_size * topology.num_ranks
    if sample_in_epoch % global_batch_size:
        warn_inexact_resume("device_per_stream", sample_in_epoch, global_batch_size)
    return deal(steps.reshape(-1, global_batch_size), topology, batch_size, sample_in_epoch)
