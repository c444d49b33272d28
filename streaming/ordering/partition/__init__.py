"""Partition an epoch's samples over nodes, ranks and workers, elastically deterministically.

Two algorithms, the same as mosaicml-streaming 0.13.0's and bit-identical to them:

* ``orig``: one canonical sample order fixed by the dataset size and ``num_canonical_nodes``,
  dealt to the run's nodes, ranks and workers (:func:`partition_orig`).
* ``relaxed`` (the default): ``orig``, except that on resumption with a node count ``orig``
  refuses, it re-cuts the initial run's partition (:func:`partition_relaxed`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from streaming.ordering.partition.orig import canonical_order, partition_orig
from streaming.ordering.partition.relaxed import partition_relaxed
from streaming.ordering.partition.settings import BatchSizeError, EmptyDatasetError, as_count

__all__ = [
    "PARTITION_ALGOS",
    "BatchSizeError",
    "EmptyDatasetError",
    "canonical_order",
    "get_partitions",
    "partition_orig",
    "partition_relaxed",
]

PARTITION_ALGOS: dict[str, Callable[..., np.ndarray]] = {
    "orig": partition_orig,
    "relaxed": partition_relaxed,
}


def get_partitions(
    algo: str,
    num_samples: int,
    num_canonical_nodes: int,
    num_physical_nodes: int,
    ranks_per_node: int,
    workers_per_rank: int,
    batch_size: int | None = None,
    drop_first: int = 0,
    initial_physical_nodes: int | None = None,
) -> np.ndarray:
    """Partition ``num_samples`` samples with the algorithm named ``algo``.

    Args:
        algo: ``'orig'`` or ``'relaxed'``.
        num_samples: Samples in the epoch.
        num_canonical_nodes: Canonical node count, which fixes the sample order.
        num_physical_nodes: Nodes of this run.
        ranks_per_node: Ranks (devices) per node.
        workers_per_rank: DataLoader workers per rank.
        batch_size: Per-device batch size, as given to the DataLoader (required).
        drop_first: Samples of the epoch already consumed (resumption point).
        initial_physical_nodes: Node count of the run's first start, or None on the first start.

    Returns:
        int64 array of shape (nodes, ranks per node, workers per rank, batches per worker,
        batch size) holding sample IDs, with ``-1`` as padding.

    Raises:
        ValueError: Unknown ``algo``, a resume point past the end of the epoch, or a topology the
            algorithm cannot serve (the message says what would be valid).
        BatchSizeError: ``batch_size`` is missing (a TypeError).
    """
    partition = PARTITION_ALGOS.get(algo)
    if partition is None:
        raise ValueError(
            f"Unknown partition_algo {algo!r}: expected one of {sorted(PARTITION_ALGOS)}"
        )
    num_samples = as_count("num_samples", num_samples, 0)
    devices = as_count("num_physical_nodes", num_physical_nodes, 1) * as_count(
        "ranks_per_node", ranks_per_node, 1
    )
    # The peer's bound: the epoch rounded up past the next multiple of the device count.
    last = num_samples + devices - num_samples % devices
    if as_count("drop_first", drop_first, 0) > last:
        raise ValueError(
            f"drop_first={drop_first} resumes past the end of the epoch: it has {num_samples} "
            f"samples (at most {last} with padding for {devices} devices). Check that the "
            "resume state belongs to this dataset."
        )
    return partition(
        num_samples,
        num_canonical_nodes,
        num_physical_nodes,
        ranks_per_node,
        workers_per_rank,
        batch_size,
        drop_first,
        initial_physical_nodes,
    )
