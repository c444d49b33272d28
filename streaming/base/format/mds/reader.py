"""``streaming.base.format.mds.reader``: `MDSReader`, our `MDSShard`."""

from streaming.format.mds.reader import MDSShard as MDSReader

__all__ = ["MDSReader"]
