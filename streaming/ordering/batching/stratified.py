"""``stratified`` batching: every global batch holds each stream in the same proportion."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from streaming.ordering.batching.batches import (
    DELIVERY_ORDER,
    count_full,
    deal,
    stream_partition,
    warn_dropped,
    warn_inexact_resume,
)
from streaming.ordering.batching.settings import OrderingSettings, Topology


def _portions(
    floors: list[int], proportions: tuple[float, ...], global_batch_size: int
) -> NDArray[np.int64]:
    """Each stream's samples per global batch: ``floor(p * G)``, the rounding shortfall going to
    the streams with the largest remainders (ties as ``np.argsort`` breaks them)."""
    portions = np.array(floors)
    missing = global_batch_size - portions.sum()
    if missing != 0:
        remainders = global_batch_size * np.array(proportions) - portions
        portions[np.flip(np.argsort(remainders))[:missing]] += 1
    for stream_id, portion in enumerate(portions.tolist()):
        if portion <= 0:
            raise ValueError(
                f"Stream {stream_id} gets {portion} samples of each global batch of "
                f"{global_batch_size} (proportion {proportions[stream_id]}): raise the global "
                "batch size or the stream's proportion"
            )
    return portions


def batch_stratified(
    settings: OrderingSettings, topology: Topology, epoch: int, sample_in_epoch: int
) -> NDArray[np.int64]:
    """The epoch's sample IDs for ``stratified`` batching.

    Each stream is resampled, partitioned (one node, batch 1, from the start) and shuffled on
    its own, then read in delivery order and cut into pieces of its portion of the global batch
    (`_portions`); global batch ``t`` is piece ``t`` of every stream, stream after stream. Only
    as many global batches as the scarcest stream fills are kept (with a warning for a stream
    whose last piece is short). Resumption skips whole global batches (warning if
    ``sample_in_epoch`` is not on a boundary).

    Returns:
        int64 array (nodes, ranks per node, workers per rank, batches per worker, batch size).
    """
    batch_size = settings.checked_batch_size()
    global_batch_size = batch_size * topology.num_ranks
    floors, partitions = [], []
    for stream_id, proportion in enumerate(settings.proportion):
        floors.append(int(proportion * global_batch_size))
        partitions.append(stream_partition(settings, epoch, stream_id, 1, topology, 1))
    portions = _portions(floors, settings.proportion, global_batch_size)

    pieces = []
    for stream_id, (partition, portion) in enumerate(zip(partitions, portions, strict=True)):
        samples = partition.transpose(DELIVERY_ORDER).ravel()
        samples = np.concatenate((samples, np.full(-len(samples) % portion, -1, np.int64)))
        stream_pieces = samples.reshape(-1, portion)
        if count_full(stream_pieces) != len(stream_pieces):
            warn_dropped("stratified", stream_id)
        pieces.append(stream_pieces)
    num_batches = min(count_full(stream_pieces) for stream_pieces in pieces)
    global_batches = np.concatenate([p[:num_batches] for p in pieces], axis=1)

    if sample_in_epoch % global_batch_size:
        warn_inexact_resume("stratified", sample_in_epoch, global_batch_size)
    return deal(global_batches, topology, batch_size, sample_in_epoch)
