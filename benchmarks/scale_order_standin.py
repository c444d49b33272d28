"""A stand-in for ``streaming.ordering.node_order`` (``node_work``, ``worker_ready``), for
running `scale_order.py` before the windowed node order exists, or to measure the sharing layer
over a whole-epoch computation: ``--impl standin``.

``node_work`` returns an object that computes the whole epoch with
``streaming.ordering.generate_work`` (every node, rank and worker, as each of our processes did
before issue 12) and keeps the node's part; it publishes only once, at the end, so no worker
starts before the whole order is final. It is never a measurement of the windowed order.
"""

from __future__ import annotations

import sys
import types

import numpy as np


class WholeEpochWork:
    """The node's part of `generate_work`'s epoch, computed all at once."""

    def __init__(self, batching_method, settings, topology, epoch, sample_in_epoch, replication,
                 node) -> None:  # fmt: skip
        self.args = (batching_method, settings, topology, epoch, sample_in_epoch)
        self.replication, self.node = replication, node
        total = sum(sum(sizes) for sizes in settings.shard_sizes)
        self.dtype = np.dtype(np.int32 if total < 2**31 else np.int64)
        t = topology.replicate(replication)
        per_worker = self._per_worker(settings, t)
        self.shape = (t.ranks_per_node, t.workers_per_rank, per_worker // settings.batch_size,
                      settings.batch_size)  # fmt: skip

    @staticmethod
    def _per_worker(settings, t) -> int:
        """Samples per worker of the peer's padded layout (relaxed/orig partitioning)."""
        total = sum(settings.choose)
        ranks = t.num_nodes * t.ranks_per_node
        per_rank_batches = -(-total // (ranks * settings.batch_size))
        per_worker_batches = -(-per_rank_batches // t.workers_per_rank)
        return per_worker_batches * settings.batch_size

    def fill(self, out: np.ndarray, publish) -> None:
        from streaming.ordering import generate_work

        work = generate_work(*self.args)
        part = work[self.node]
        if part.shape != out.shape:
            raise RuntimeError(f"stand-in: shape {part.shape} != announced {out.shape}")
        out[...] = part
        publish(out.size)


def worker_ready(progress: int, shape, rank: int, worker: int) -> int:
    """All of the worker's entries once the whole part is published, none before."""
    size = int(np.prod(shape))
    return int(np.prod(shape[2:])) if progress >= size else 0


def install() -> None:
    """Register this module as ``streaming.ordering.node_order``."""
    module = types.ModuleType("streaming.ordering.node_order")
    module.node_work = WholeEpochWork
    module.worker_ready = worker_ready
    sys.modules["streaming.ordering.node_order"] = module
