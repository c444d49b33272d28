"""`StreamingImageNet` at mosaicml-streaming's path, with its arguments and samples."""

from __future__ import annotations

from streaming.vision.base import StreamingVisionDataset

__all__ = ["StreamingImageNet"]


class StreamingImageNet(StreamingVisionDataset):
    """ImageNet as mosaicml-streaming's: ``(x, y)`` per sample (see `StreamingVisionDataset`);
    reads what ``streaming convert imagenet`` or ``python -m streaming.vision.convert.imagenet``
    writes."""
