"""``streaming.base.format.mds``: `MDSWriter` and `MDSReader` (our `MDSShard`)."""

from streaming.base.format.mds.reader import MDSReader
from streaming.base.format.mds.writer import MDSWriter

__all__ = ["MDSReader", "MDSWriter"]
