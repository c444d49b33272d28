"""``streaming.base.partition.relaxed``: the ``relaxed`` partition (see
`streaming.ordering.partition`)."""

from streaming.ordering.partition import partition_relaxed as get_partitions_relaxed

__all__ = ["get_partitions_relaxed"]
