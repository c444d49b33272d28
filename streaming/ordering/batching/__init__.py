"""Batching methods: how an epoch's samples are grouped into batches, and dealt to the run.

Each method is a pure function ``(settings, topology, epoch, sample_in_epoch) -> int64 array of
shape (nodes, ranks per node, workers per rank, batches per worker, batch size)`` of sample IDs,
``-1`` marking padding, bit-identical to mosaicml-streaming 0.13.0's for the same settings:

* ``random`` (the default): batches mix all streams at random (`batch_random`).
* ``stratified``: every global batch holds each stream in proportion (`batch_stratified`).
* ``per_stream``: every global batch comes from one stream (`batch_per_stream`).
* ``device_per_stream``: every device batch comes from one stream (`batch_device_per_stream`).

`generate_work` picks one by name.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from streaming.ordering.batching.device_per_stream import batch_device_per_stream
from streaming.ordering.batching.per_stream import batch_per_stream
from streaming.ordering.batching.random import batch_random
from streaming.ordering.batching.settings import (
    BatchingWarning,
    MissingBatchSizeError,
    OrderingSettings,
    Topology,
    default_num_canonical_nodes,
    default_shuffle_block_size,
)
from streaming.ordering.batching.stratified import batch_stratified

BatchingFn = Callable[[OrderingSettings, Topology, int, int], NDArray[np.int64]]

BATCHING_METHODS: MappingProxyType[str, BatchingFn] = MappingProxyType(
    {
        "random": batch_random,
        "stratified": batch_stratified,
        "per_stream": batch_per_stream,
        "device_per_stream": batch_device_per_stream,
    }
)


def generate_work(
    batching_method: str,
    settings: OrderingSettings,
    topology: Topology,
    epoch: int,
    sample_in_epoch: int = 0,
    replication: int | None = None,
) -> NDArray[np.int64]:
    """This epoch's sample IDs for every node, rank and worker, by batching method name.

    Args:
        batching_method: ``random``, ``stratified``, ``per_stream`` or ``device_per_stream``.
        settings: The dataset's streams and ordering settings.
        topology: Nodes, ranks per node and workers per rank of this run.
        epoch: The epoch (>= 0).
        sample_in_epoch: Samples of the epoch already trained on, over all ranks (the resume
            point; ``state_dict``'s ``sample_in_epoch``).
        replication: If set, that many consecutive ranks get the same samples: the samples are
            dealt over `Topology.replicate` and ``sample_in_epoch`` counts unique samples.

    Returns:
        int64 array (nodes, ranks per node, workers per rank, batches per worker, batch size) of
        the (replicated) topology; worker ``(n, r, w)`` yields ``[n, r, w].ravel()``, skipping
        ``-1``.

    Raises:
        ValueError: An unknown method, a bad topology or resume point, or settings the method
            cannot serve (the message says which).
        RuntimeError: ``num_canonical_nodes`` is None.
    """
    method = BATCHING_METHODS.get(batching_method)
    if method is None:
        raise ValueError(
            f"Unknown batching_method {batching_method!r}: use one of {', '.join(BATCHING_METHODS)}"
        )
    if epoch < 0 or sample_in_epoch < 0:
        raise ValueError(
            f"epoch ({epoch}) and sample_in_epoch ({sample_in_epoch}) must be non-negative"
        )
    if replication is not None and replication > 1 and sample_in_epoch:
        warnings.warn(
            f"replication={replication}: resuming from sample {sample_in_epoch}, which must "
            "count unique samples (samples yielded per rank x ranks // replication), as the "
            "dataset's state_dict does; otherwise training resumes from the wrong sample",
            BatchingWarning,
            stacklevel=2,
        )
    topology = topology.replicate(replication)
    settings.canonical_nodes  # noqa: B018 - RuntimeError first, as the peer
    return method(settings, topology, epoch, sample_in_epoch)


__all__ = [
    "BATCHING_METHODS",
    "BatchingWarning",
    "MissingBatchSizeError",
    "OrderingSettings",
    "Topology",
    "batch_device_per_stream",
    "batch_per_stream",
    "batch_random",
    "batch_stratified",
    "default_num_canonical_nodes",
    "default_shuffle_block_size",
    "generate_work",
]
