"""What a batching method needs to know: the run's topology and the dataset's ordering settings.

Both are small frozen values, so an epoch's order is a pure function of them, the epoch and the
resume point. `Topology.replicate` is how ``replication`` enters: replicated ranks act as one,
exactly as mosaicml-streaming 0.13.0's ``World.replicate``.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from streaming.ordering.mixing import SAMPLING_METHODS, StreamWeights
from streaming.ordering.partition import BatchSizeError

__all__ = [
    "BatchingWarning",
    "MissingBatchSizeError",
    "OrderingSettings",
    "Topology",
    "default_num_canonical_nodes",
    "default_shuffle_block_size",
]


class BatchingWarning(UserWarning):
    """A batching method drops samples or cannot resume exactly where asked."""


class MissingBatchSizeError(BatchSizeError, ValueError):
    """``batch_size`` is not set; the peer's dataset raises ValueError here."""


def _count(name: str, value: object, minimum: int) -> int:
    try:
        count = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if count < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {count}")
    return count


@dataclass(frozen=True)
class Topology:
    """Nodes, ranks (devices) per node and DataLoader workers per rank of a run."""

    num_nodes: int
    ranks_per_node: int
    workers_per_rank: int

    def __post_init__(self) -> None:
        for name in ("num_nodes", "ranks_per_node", "workers_per_rank"):
            object.__setattr__(self, name, _count(name, getattr(self, name), 1))

    @property
    def num_ranks(self) -> int:
        """Devices in the run."""
        return self.num_nodes * self.ranks_per_node

    def replicate(self, replication: int | None) -> Topology:
        """The topology the samples are dealt over when ``replication`` consecutive ranks share
        them: ranks divided by ``replication``, on the same ranks per node if that divides
        evenly, else all on one node.

        Raises:
            ValueError: ``replication`` is below 1 or does not divide the number of ranks.
        """
        if replication is None:
            return self
        replication = operator.index(replication)
        if replication < 1:
            raise ValueError(f"replication must be a positive integer, got {replication}")
        if self.num_ranks % replication:
            raise ValueError(
                f"replication={replication} must divide the number of ranks ({self.num_nodes} "
                f"nodes x {self.ranks_per_node} ranks = {self.num_ranks})"
            )
        num_ranks = self.num_ranks // replication
        num_nodes = num_ranks // self.ranks_per_node if num_ranks % self.ranks_per_node == 0 else 1
        return Topology(num_nodes, num_ranks // num_nodes, self.workers_per_rank)


def default_num_canonical_nodes(shuffle_algo: str, num_nodes: int) -> int:
    """``num_canonical_nodes`` when the user leaves it None at the first start."""
    return 64 * num_nodes if shuffle_algo in ("py1s", "py2s") else num_nodes


def default_shuffle_block_size(num_canonical_nodes: int) -> int:
    """``shuffle_block_size`` when the user leaves it None."""
    return max(4_000_000 // num_canonical_nodes, 1 << 18)


@dataclass(frozen=True)
class OrderingSettings:
    """The dataset's streams and settings that decide the sample order.

    Attributes:
        shard_sizes: Per stream, its shards' sample counts; shards and samples are numbered
            across streams in this order.
        choose: Per stream, samples per epoch (`StreamWeights.choose`).
        proportion: Per stream, its share of the epoch (`StreamWeights.proportion`); used by
            the per-stream batching methods.
        batch_size: Per-device batch size (required).
        num_canonical_nodes: Canonical node count (see `default_num_canonical_nodes`).
        partition_algo: ``'orig'`` or ``'relaxed'``.
        shuffle: Whether to shuffle.
        shuffle_algo: ``naive``, ``py1br``, ``py1e``, ``py1s`` or ``py2s``.
        shuffle_seed: Base seed of all randomness (>= 0).
        shuffle_block_size: Shuffle block; None means `default_shuffle_block_size`.
        sampling_method: ``'balanced'`` or ``'fixed'``.
        sampling_granularity: Samples per pick for partial repeats (>= 1).
        initial_physical_nodes: Node count of the run's first start when resuming, else None.
    """

    shard_sizes: tuple[tuple[int, ...], ...]
    choose: tuple[int, ...]
    proportion: tuple[float, ...]
    batch_size: int | None
    num_canonical_nodes: int | None
    partition_algo: str = "relaxed"
    shuffle: bool = False
    shuffle_algo: str = "py1e"
    shuffle_seed: int = 9176
    shuffle_block_size: int | None = None
    sampling_method: str = "balanced"
    sampling_granularity: int = 1
    initial_physical_nodes: int | None = None

    def __post_init__(self) -> None:
        shard_sizes = tuple(tuple(int(n) for n in np.ravel(s)) for s in self.shard_sizes)
        object.__setattr__(self, "shard_sizes", shard_sizes)
        object.__setattr__(self, "choose", tuple(int(c) for c in np.ravel(self.choose)))
        object.__setattr__(self, "proportion", tuple(float(p) for p in np.ravel(self.proportion)))
        if not shard_sizes:
            raise ValueError("OrderingSettings needs at least one stream")
        if not len(self.choose) == len(self.proportion) == len(shard_sizes):
            raise ValueError(
                f"Got {len(shard_sizes)} streams' shard sizes, {len(self.choose)} choose and "
                f"{len(self.proportion)} proportion values: give one of each per stream"
            )
        if self.sampling_method not in SAMPLING_METHODS:
            raise ValueError(
                f"Unknown sampling_method {self.sampling_method!r}: use one of "
                f"{', '.join(SAMPLING_METHODS)}"
            )
        _count("sampling_granularity", self.sampling_granularity, 1)
        _count("shuffle_seed", self.shuffle_seed, 0)

    @classmethod
    def from_weights(
        cls, shard_sizes: Sequence[ArrayLike], weights: StreamWeights, **settings: object
    ) -> OrderingSettings:
        """Settings for streams with these shard sizes and resolved weights."""
        return cls(
            shard_sizes=shard_sizes,  # type: ignore[arg-type]
            choose=weights.choose,  # type: ignore[arg-type]
            proportion=weights.proportion,  # type: ignore[arg-type]
            **settings,  # type: ignore[arg-type]
        )

    @property
    def num_streams(self) -> int:
        """Streams in the dataset."""
        return len(self.shard_sizes)

    @property
    def canonical_nodes(self) -> int:
        """``num_canonical_nodes``; RuntimeError (as the peer) if it was left None."""
        if self.num_canonical_nodes is None:
            raise RuntimeError(
                "num_canonical_nodes is None: resolve it before ordering samples (see "
                "default_num_canonical_nodes), or pass a positive integer"
            )
        return self.num_canonical_nodes

    @property
    def block_size(self) -> int:
        """``shuffle_block_size``, or its default for ``num_canonical_nodes``."""
        if self.shuffle_block_size is not None:
            return self.shuffle_block_size
        return default_shuffle_block_size(self.canonical_nodes)

    @property
    def epoch_seed_change(self) -> bool:
        """Whether the stream mixing of per-stream batching changes every epoch."""
        return self.shuffle and self.sampling_method == "balanced"

    def checked_batch_size(self) -> int:
        """``batch_size``, or MissingBatchSizeError if it is not a positive int."""
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int | np.integer):
            raise MissingBatchSizeError(
                f"batch_size is {self.batch_size!r}: pass the per-device batch size (the "
                "DataLoader's) to the dataset; the sample order and resumption depend on it"
            )
        return _count("batch_size", self.batch_size, 1)
