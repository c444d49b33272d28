"""``streaming.base.format.mds.writer``: `MDSWriter` (see `streaming.format.mds.writer`)."""

from streaming.format.mds.writer import MDSWriter

__all__ = ["MDSWriter"]
