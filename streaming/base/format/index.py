"""``streaming.base.format.index``: the index file's name."""

from streaming.format.index import get_index_basename

__all__ = ["get_index_basename"]
