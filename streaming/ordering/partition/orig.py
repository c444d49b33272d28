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

CHUNK = 1 << 20  # entries of the canonical order written at a time


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
    order = _CanonicalOrder(num_samples, num_canonical_nodes, num_physical_nodes)
    batch_size = check_batch_size(batch_size)
    return _deal(
        order, drop_first, num_physical_nodes, ranks_per_node, workers_per_rank, batch_size
    )


def canonical_order(
    num_samples: int, num_canonical_nodes: int, num_physical_nodes: int
) -> np.ndarray:
    """The epoch's global sample order: the canonical-node rows read column by column.

    Its first ``num_canonical_nodes * ceil(num_samples / num_canonical_nodes)`` entries depend
    only on ``num_samples`` and ``num_canonical_nodes``; more physical than canonical nodes only
    append row padding after them.
    """
    order = _CanonicalOrder(num_samples, num_canonical_nodes, num_physical_nodes)
    out = np.empty(order.size, np.int64)
    order.write(out, 0)
    return out


class _CanonicalOrder:
    """`canonical_order`, written slice by slice into a caller's buffer (no full-size temporary).

    Normally it is a (rows, canonical nodes) matrix read row by row: entry ``(i, c)`` is sample
    ``min(i + starts[c], lasts[c])``, canonical node ``c`` covering ``[c*N//C, (c+1)*N//C)``
    (a short one repeats its last sample). With more physical than canonical nodes, each node
    is padded to a multiple of ``physical // canonical`` by repeating the rows from ``first``
    on (the peer's choice: the ones that end ``node_ratio - 1`` before its end). A dataset with
    fewer samples than canonical nodes is tiled over them instead, with a warning.
    """

    def __init__(self, num_samples: int, num_canonical_nodes: int, num_physical_nodes: int):
        per_row = -(-num_samples // num_canonical_nodes)
        node_ratio = max(num_physical_nodes // num_canonical_nodes, 1)
        row_width = -(-per_row // node_ratio) * node_ratio  # rows split evenly over node_ratio
        self.tiled: np.ndarray | None = None
        self.per_row = per_row
        self.first = 0
        if num_samples > num_canonical_nodes or (
            num_samples == num_canonical_nodes and num_canonical_nodes >= num_physical_nodes
        ):
            node = np.arange(num_canonical_nodes, dtype=np.int64)
            self.starts = node * num_samples // num_canonical_nodes
            self.lasts = (node + 1) * num_samples // num_canonical_nodes - 1
            self.first = per_row - (row_width - per_row) - node_ratio + 1
            if row_width > per_row and self.first < 0:
                raise ValueError(
                    f"num_samples={num_samples} is too small for num_physical_nodes="
                    f"{num_physical_nodes} with num_canonical_nodes={num_canonical_nodes}: "
                    f"each canonical node holds {per_row} samples, too few to pad and split "
                    f"evenly over {node_ratio} physical nodes. Use at least {num_physical_nodes} "
                    "canonical nodes (or fewer physical nodes)."
                )
            self.size = row_width * num_canonical_nodes
            return
        warnings.warn(
            f"Trying to partition {num_samples} samples over {num_canonical_nodes} canonical "
            "nodes: samples are tiled over them, so many repeat, and depending on the batching "
            "method whole batches may be dropped. Check that the dataset has the expected "
            "number of samples, and consider fewer canonical nodes.",
            stacklevel=3,
        )
        if not num_samples:
            raise EmptyDatasetError(
                f"num_samples=0: there is nothing to partition over {num_canonical_nodes} "
                "canonical nodes; check the dataset's streams and their proportions"
            )
        # Rows filled with 0, 1, ..., N-1, 0, 1, ... in row-major order, read column by column.
        tiled = np.arange(num_canonical_nodes * row_width, dtype=np.int64) % num_samples
        self.tiled = tiled.reshape(num_canonical_nodes, row_width).T.ravel()
        self.size = len(self.tiled)

    def write(self, out: np.ndarray, begin: int) -> None:
        """``out[:] = order[begin : begin + len(out)]``, in chunks of about `CHUNK` entries."""
        if self.tiled is not None:
            out[:] = self.tiled[begin : begin + len(out)]
            return
        nodes = len(self.starts)
        end = begin + len(out)
        step = max(1, CHUNK // nodes)
        for row in range(begin // nodes, -(-end // nodes), step):
            rows = np.arange(row, min(row + step, -(-end // nodes)), dtype=np.int64)
            rows[rows >= self.per_row] += self.first - self.per_row  # padding repeats rows
            block = np.empty((len(rows), nodes), np.int64)
            if nodes < 64:  # column by column: a (rows, 1) broadcast is slow in numpy
                for node in range(nodes):
                    np.minimum(rows + self.starts[node], self.lasts[node], out=block[:, node])
            else:
                np.minimum(rows[:, None] + self.starts, self.lasts, out=block)
            lo, hi = max(begin, row * nodes), min(end, (row + len(rows)) * nodes)
            out[lo - begin : hi - begin] = block.reshape(-1)[lo - row * nodes : hi - row * nodes]


def _deal(
    order: _CanonicalOrder,
    drop_first: int,
    num_physical_nodes: int,
    ranks_per_node: int,
    workers_per_rank: int,
    batch_size: int,
) -> np.ndarray:
    """Deal each node's samples to its ranks, then to their workers.

    Row ``i`` of ``order[drop_first:]`` cut into rows of ``num_physical_nodes`` holds sample
    ``i`` of every physical node (column ``p`` is node ``p``'s list). The result is built in the
    layout (batches, workers, batch, ranks, nodes), where sample ``i`` of a node goes to rank
    ``i % ranks`` as that rank's sample ``i // ranks``: its first rows are those node rows, so
    the canonical order is written straight into it. It is returned as a (nodes, ranks,
    workers, batches, batch) view.
    """
    count = max(order.size - drop_first, 0) // num_physical_nodes
    missing = -count % ranks_per_node  # repeated so every rank gets as many samples
    per_rank = (count + missing) // ranks_per_node
    per_round = workers_per_rank * batch_size
    rounds = -(-per_rank // per_round)  # each rank's list, -1 padded to whole rounds of batches

    out = np.empty((rounds * per_round * ranks_per_node, num_physical_nodes), np.int64)
    order.write(out.reshape(-1)[: count * num_physical_nodes], drop_first)
    if missing:
        out[count : count + missing] = _rank_padding(out[:count], ranks_per_node, missing)
    out[count + missing :] = -1
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
