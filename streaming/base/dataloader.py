"""``streaming.base.dataloader``: `StreamingDataLoader` (see `streaming.loader`)."""

from streaming.loader import StreamingDataLoader

__all__ = ["StreamingDataLoader"]
