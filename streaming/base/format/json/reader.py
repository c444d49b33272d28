"""``streaming.base.format.json.reader``: `JSONReader`, our `JSONShard`."""

from streaming.format.split_reader import JSONShard as JSONReader

__all__ = ["JSONReader"]
