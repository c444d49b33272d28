"""``streaming.base.format.base``: `FileInfo` and the `Reader` base class."""

from streaming.base.format.base.reader import FileInfo, Reader

__all__ = ["FileInfo", "Reader"]
