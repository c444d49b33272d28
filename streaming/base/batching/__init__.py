"""``streaming.base.batching``: a dataset's epoch of sample IDs for every node, rank and worker,
by batching method (see `streaming.ordering.batching`), with the peer's call signature."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from streaming.ordering.batching import BATCHING_METHODS
from streaming.ordering.batching import generate_work as _generate_work

#: The batching method names (the peer's ``batching_methods`` keys).
batching_methods = dict(BATCHING_METHODS)


def generate_work(
    batching_method: str, dataset: Any, world: Any, epoch: int, sample_in_epoch: int
) -> NDArray[np.int64]:
    """The epoch's sample IDs, shaped (nodes, ranks per node, workers per rank, batches per
    worker, batch size), ``-1`` for padding, as `StreamingDataset` iterates them.

    Args:
        batching_method: ``random``, ``stratified``, ``per_stream`` or ``device_per_stream``.
        dataset: A `streaming.StreamingDataset` (its streams and ordering settings).
        world: A `streaming.base.world.World` (or `streaming.world.World`).
        epoch: The epoch.
        sample_in_epoch: Samples of the epoch already consumed, over all ranks.
    """
    return _generate_work(
        batching_method,
        dataset._settings(),
        world.topology,
        epoch,
        sample_in_epoch,
        getattr(dataset, "replication", None),
    )


__all__ = ["batching_methods", "generate_work"]
