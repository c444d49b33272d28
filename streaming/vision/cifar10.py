"""`StreamingCIFAR10` at mosaicml-streaming's path, with its arguments and samples."""

from __future__ import annotations

from streaming.vision.base import StreamingVisionDataset

__all__ = ["StreamingCIFAR10"]


class StreamingCIFAR10(StreamingVisionDataset):
    """CIFAR-10 as mosaicml-streaming's: ``(x, y)`` per sample (see `StreamingVisionDataset`);
    reads what ``streaming convert cifar10`` or ``python -m streaming.vision.convert.cifar10``
    writes."""
