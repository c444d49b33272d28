"""``streaming.base.dataset``: `StreamingDataset` (this library's, see `streaming.dataset`)."""

from streaming.dataset import StreamingDataset

__all__ = ["StreamingDataset"]
