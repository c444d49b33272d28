"""``streaming.base.partition.orig``: the ``orig`` partition (`streaming.ordering.partition`)."""

from streaming.ordering.partition import partition_orig as get_partitions_orig

__all__ = ["get_partitions_orig"]
