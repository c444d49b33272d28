"""The ``orig`` partition: one global sample order, dealt to nodes, ranks and workers.

The problem: a training run must see the same samples in the same order whatever the number of
nodes, ranks per node and DataLoader workers, and it must be able to resume mid-epoch on a
different number of nodes. The trick is a *canonical* order that depends only on the dataset size
and ``num_canonical_nodes``; physical nodes, ranks and workers are only different ways to deal it.
"""

from __future__ import annotations

import warnings

import numpy as np

from streaming.ordering.partition.settings import (
    EmptyDatasetError,
    as_count,
    check_batch_size,
    check_nodes_divide,
)


def partition_orig(
    num_samples: int,
    num_canonical_nodes: int,
    num_physical_nodes: int,
    ranks_per_node: int,
    workers_per_rank: int,
    batch_size: int | None = None,
    drop_first: int = 0,
    initial_physical_nodes: int | None = None,
) -> np.ndarray:
    """Deal the samples ``[0, num_samples)`` to every worker of every rank of every node.

    1. **Canonical nodes.** ``[0, num_samples)`` is cut into ``num_canonical_nodes`` contiguous
       rows of ``ceil(num_samples / num_canonical_nodes)`` samples; a row one sample short repeats
       its last sample. With more physical than canonical nodes, each row is padded (by repeating
       some of its samples) to a multiple of ``physical // canonical`` so it splits evenly.
    2. **Canonical order.** Reading the rows column by column gives the order: sample 0 of each
       canonical node, then sample 1 of each, and so on.
    3. **Resumption.** The first ``drop_first`` samples of that order, rounded down to a multiple
       of ``num_physical_nodes``, are dropped.
    4. **Nodes.** Position ``i`` of the order goes to physical node ``i % num_physical_nodes``, so
       a node only touches the shards of its own canonical nodes.
    5. **Ranks.** A node interleaves its samples over its ranks; if they do not divide evenly,
       a few of the node's samples are repeated so every rank gets the same number.
    6. **Workers.** Each rank's list is padded with ``-1`` to a multiple of
       ``workers_per_rank * batch_size``, then cut into batches dealt round-robin to the workers,
       the order in which the DataLoader collects them.

    Globally, training step ``t`` therefore consumes positions ``[t*G, (t+1)*G)`` of the order
    (``G`` = physical nodes x ranks per node x ``batch_size``), whatever the topology.

    A dataset with fewer samples than canonical nodes is tiled over them instead, with a warning.

    Args:
        num_samples: Samples in the epoch.
        num_canonical_nodes: Canonical node count; it alone (with ``num_samples``) fixes the order.
        num_physical_nodes: Nodes of this run; must divide or be divided by ``num_canonical_nodes``.
        ranks_per_node: Ranks (devices) per node.
        workers_per_rank: DataLoader workers per rank.
        batch_size: Per-device batch size, as given to the DataLoader.
        drop_first: Samples of the epoch already consumed (resumption point).
        initial_physical_nodes: Unused here; accepted so every algorithm takes the same arguments.

    Returns:
        int64 array of shape (nodes, ranks per node, workers per rank, batches per worker,
        batch size) holding sample IDs, with ``-1`` as padding.
    """
    del initial_physical_nodes
    num_samples = as_count("num_samples", num_samples, 0)
    num_canonical_nodes = as_count("num_canonical_nodes", num_canonical_nodes, 1)
    num_physical_nodes = as_count("num_physical_nodes", num_physical_nodes, 1)
    ranks_per_node = as_count("ranks_per_node", ranks_per_node, 1)
    workers_per_rank = as_count("workers_per_rank", workers_per_rank, 1)
    drop_first = as_count("drop_first", drop_first, 0)
    check_nodes_divide(num_canonical_nodes, num_physical_nodes, "num_physical_nodes")

    drop_first -= drop_first % num_physical_nodes
    order = canonical_order(num_samples, num_canonical_nodes, num_physical_nodes)
    batch_size = check_batch_size(batch_size)
    # Row i holds sample i of every physical node (column p is node p's list).
    by_node = order[drop_first:].reshape(-1, num_physical_nodes)
    return _deal(by_node, ranks_per_node, workers_per_rank, batch_size)


def canonical_order(
    num_samples: int, num_canonical_nodes: int, num_physical_nodes: int
) -> np.ndarray:
    """The epoch's global sample order: the canonical-node rows read column by column.

    Its first ``num_canonical_nodes * ceil(num_samples / num_canonical_nodes)`` entries depend
    only on ``num_samples`` and ``num_canonical_nodes``; more physical than canonical nodes only
    append row padding after them.
    """
    per_row = -(-num_samples // num_canonical_nodes)
    node_ratio = max(num_physical_nodes // num_canonical_nodes, 1)
    row_width = -(-per_row // node_ratio) * node_ratio  # rows split evenly over node_ratio nodes

    if num_samples > num_canonical_nodes or (
        num_samples == num_canonical_nodes and num_canonical_nodes >= num_physical_nodes
    ):
        columns = _canonical_columns(num_samples, num_canonical_nodes, per_row)
        if row_width > per_row:
            columns = _pad_rows(
                columns, row_width - per_row, node_ratio, num_samples, num_physical_nodes
            )
        return columns.ravel()
    warnings.warn(
        f"Trying to partition {num_samples} samples over {num_canonical_nodes} canonical "
        "nodes: samples are tiled over them, so many repeat, and depending on the batching "
        "method whole batches may be dropped. Check that the dataset has the expected number "
        "of samples, and consider fewer canonical nodes.",
        stacklevel=3,
    )
    if not num_samples:
        raise EmptyDatasetError(
            f"num_samples=0: there is nothing to partition over {num_canonical_nodes} "
            "canonical nodes; check the dataset's streams and their proportions"
        )
    # Rows filled with 0, 1, ..., N-1, 0, 1, ... in row-major order, then read column by column.
    tiled = np.arange(num_canonical_nodes * row_width, dtype=np.int64) % num_samples
    return tiled.reshape(num_canonical_nodes, row_width).T.ravel()


def _canonical_columns(num_samples: int, num_canonical_nodes: int, per_row: int) -> np.ndarray:
    """(per_row, canonical nodes): row ``c`` of the canonical matrix is column ``c`` here.

    Canonical node ``c`` covers ``[c*N//C, (c+1)*N//C)``; a short one repeats its last sample.
    """
    node = np.arange(num_canonical_nodes, dtype=np.int64)
    starts = node * num_samples // num_canonical_nodes
    lasts = (node + 1) * num_samples // num_canonical_nodes - 1
    return np.minimum(np.arange(per_row, dtype=np.int64)[:, None] + starts, lasts)


def _pad_rows(
    columns: np.ndarray, padding: int, node_ratio: int, num_samples: int, num_physical_nodes: int
) -> np.ndarray:
    """Pad each canonical node with ``padding`` samples copied from the ones that end
    ``node_ratio - 1`` before its end (the peer's choice, kept for an identical order)."""
    per_row, num_canonical_nodes = columns.shape
    first = per_row - padding - node_ratio + 1
    if first < 0:
        raise ValueError(
            f"num_samples={num_samples} is too small for num_physical_nodes={num_physical_nodes}"
            f" with num_canonical_nodes={num_canonical_nodes}: each canonical node holds "
            f"{per_row} samples, too few to pad and split evenly over {node_ratio} physical "
            f"nodes. Use at least {num_physical_nodes} canonical nodes (or fewer physical nodes)."
        )
    return np.concatenate([columns, columns[first : first + padding]])


def _deal(
    by_node: np.ndarray, ranks_per_node: int, workers_per_rank: int, batch_size: int
) -> np.ndarray:
    """Deal each node's samples (a column of ``by_node``) to its ranks, then to their workers.

    The result is built in the layout (batches, workers, batch, ranks, nodes), where sample ``i``
    of a node goes to rank ``i % ranks`` as that rank's sample ``i // ranks``, and returned as a
    (nodes, ranks, workers, batches, batch) view.
    """
    count, num_physical_nodes = by_node.shape
    missing = -count % ranks_per_node  # repeated so every rank gets as many samples
    per_rank = (count + missing) // ranks_per_node
    per_round = workers_per_rank * batch_size
    rounds = -(-per_rank // per_round)  # each rank's list, -1 padded to whole rounds of batches

    out = np.full((rounds * per_round * ranks_per_node, num_physical_nodes), -1, np.int64)
    out[:count] = by_node
    if missing:
        out[count : count + missing] = _rank_padding(by_node, ranks_per_node, missing)
    out = out.reshape(rounds, workers_per_rank, batch_size, ranks_per_node, num_physical_nodes)
    return out.transpose(4, 3, 1, 0, 2)


def _rank_padding(by_node: np.ndarray, ranks_per_node: int, missing: int) -> np.ndarray:
    """The ``missing`` samples each node repeats: normally the ones just before its last
    ``ranks_per_node - 1``; with too few samples, its samples from the start, cyclically."""
    count = by_node.shape[0]
    if ranks_per_node + missing - 1 <= count:
        stop = count - ranks_per_node + 1
        return by_node[stop - missing : stop]
    warnings.warn(
        f"Attempting to partition {count} samples per physical node over {ranks_per_node} "
        "ranks: samples are repeated to give every rank the same count, and depending on the "
        "batching method whole batches may be dropped. Check that the dataset has the "
        "expected number of samples.",
        stacklevel=4,
    )
    return by_node[np.arange(missing) % count]
