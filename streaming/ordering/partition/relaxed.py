"""The ``relaxed`` partition: resume on any node count, keeping every global batch the same.

``orig`` needs the physical node count to divide or be divided by ``num_canonical_nodes``. A run
that started on a compatible count but resumes on another (a node was lost, say) still needs the
same global batches in the same order; ``relaxed`` gets them by re-cutting the partition of the
initial run instead of computing a new one.
"""

from __future__ import annotations

import numpy as np

from streaming.ordering.partition.orig import partition_orig
from streaming.ordering.partition.settings import (
    as_count,
    check_batch_size,
    check_nodes_divide,
    nodes_divide,
)


def partition_relaxed(
    num_samples: int,
    num_canonical_nodes: int,
    num_physical_nodes: int,
    ranks_per_node: int,
    workers_per_rank: int,
    batch_size: int | None = None,
    drop_first: int = 0,
    initial_physical_nodes: int | None = None,
) -> np.ndarray:
    """Partition like ``orig``, or re-cut the initial run's partition for a new node count.

    * On the first run (``initial_physical_nodes`` is None), or when the node count divides or is
      divided by ``num_canonical_nodes``, this is exactly :func:`partition_orig`.
    * Otherwise the run is a resumption on a node count ``orig`` refuses. The global batch size
      ``G = num_physical_nodes * ranks_per_node * batch_size`` must not have changed, so the
      initial run used a per-device batch of ``G / (initial_physical_nodes * ranks_per_node)``.

      1. Partition with ``orig`` for ``initial_physical_nodes`` and that initial batch size
         (``drop_first`` is therefore rounded down to a multiple of the *initial* node count).
      2. Read it in the order the initial run's DataLoaders deliver it: training step by step
         (batch of a worker, then worker), and within a step node by node, rank by rank.
      3. Cut that sequence again into steps of the new shape: each step of ``G`` samples is split
         over the new nodes and ranks in ``batch_size`` pieces, and steps go round-robin to
         workers.

      Each global batch is the same as in the initial run; only which device gets which part of
      it changes. ``ranks_per_node`` and ``workers_per_rank`` are assumed unchanged. In the last
      steps the initial run's ``-1`` padding is re-cut as well, so there a device's batch may be
      partly or wholly padding and devices may get different numbers of samples.

    Args:
        num_samples: Samples in the epoch.
        num_canonical_nodes: Canonical node count.
        num_physical_nodes: Nodes of this run.
        ranks_per_node: Ranks (devices) per node.
        workers_per_rank: DataLoader workers per rank.
        batch_size: Per-device batch size, as given to the DataLoader.
        drop_first: Samples of the epoch already consumed (resumption point).
        initial_physical_nodes: Node count of the run's first start (saved in the resume state),
            or None on the first start.

    Returns:
        int64 array of shape (nodes, ranks per node, workers per rank, batches per worker,
        batch size) holding sample IDs, with ``-1`` as padding.
    """
    nodes = as_count("num_physical_nodes", num_physical_nodes, 1)
    canonical = as_count("num_canonical_nodes", num_canonical_nodes, 1)
    if initial_physical_nodes is None or nodes_divide(canonical, nodes):
        return partition_orig(
            num_samples, canonical, nodes, ranks_per_node, workers_per_rank, batch_size, drop_first
        )

    initial_nodes = as_count("initial_physical_nodes", initial_physical_nodes, 1)
    ranks = as_count("ranks_per_node", ranks_per_node, 1)
    workers = as_count("workers_per_rank", workers_per_rank, 1)
    batch_size = check_batch_size(batch_size)
    global_batch = nodes * ranks * batch_size
    if global_batch % (initial_nodes * ranks):
        raise ValueError(
            f"The global batch size {global_batch} (num_physical_nodes={nodes} x "
            f"ranks_per_node={ranks} x batch_size={batch_size}) is not divisible by the initial "
            f"device count {initial_nodes * ranks} (initial_physical_nodes={initial_nodes} x "
            f"ranks_per_node={ranks}). With partition_algo='relaxed' the global batch size must "
            "stay the same across resumptions: choose batch_size so that it does."
        )
    check_nodes_divide(canonical, initial_nodes, "initial_physical_nodes")

    initial = partition_orig(
        num_samples,
        canonical,
        initial_nodes,
        ranks,
        workers,
        global_batch // (initial_nodes * ranks),
        drop_first,
    )
    # (nodes, ranks, workers, batches, batch) -> delivery order: (batches, workers, nodes, ranks).
    delivered = initial.transpose(3, 2, 0, 1, 4).reshape(-1, workers, nodes, ranks, batch_size)
    return delivered.transpose(2, 3, 1, 0, 4)
