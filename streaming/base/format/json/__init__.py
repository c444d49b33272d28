"""``streaming.base.format.json``: `JSONWriter` and `JSONReader` (our `JSONShard`)."""

from streaming.format.split import JSONWriter
from streaming.format.split_reader import JSONShard as JSONReader

__all__ = ["JSONReader", "JSONWriter"]
