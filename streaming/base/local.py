"""``streaming.base.local``: `LocalDataset` (see `streaming.local`)."""

from streaming.local import LocalDataset

__all__ = ["LocalDataset"]
