"""``streaming.base.format.json.writer``: `JSONWriter` (see `streaming.format.split`)."""

from streaming.format.split import JSONWriter

__all__ = ["JSONWriter"]
