"""``streaming.base.partition``: the partition algorithms (see `streaming.ordering.partition`),
under the peer's names."""

from streaming.ordering.partition import PARTITION_ALGOS, get_partitions
from streaming.ordering.partition import partition_orig as get_partitions_orig
from streaming.ordering.partition import partition_relaxed as get_partitions_relaxed

#: Algorithm name -> function (the peer's ``algos``).
algos = dict(PARTITION_ALGOS)

__all__ = ["algos", "get_partitions", "get_partitions_orig", "get_partitions_relaxed"]
