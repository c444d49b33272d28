"""The supported datasets: a converter from each raw layout, and a typed reader of each.

Converters live in `streaming.datasets.convert` (``streaming convert <name>`` on the command
line) and never import torch. The readers are `StreamingDataset` subclasses that decode a
sample into what a model takes; they are imported on first use::

    from streaming.datasets import StreamingCIFAR10

    ds = StreamingCIFAR10(local="data/cifar10", split="train", shuffle=True, batch_size=128)
"""

from __future__ import annotations

from streaming._lazy import lazy_getattr

#: Reader class name -> its module.
READERS = {
    "StreamingCIFAR10": "streaming.datasets.cifar10",
    "StreamingImageNet": "streaming.datasets.imagenet",
    "StreamingADE20K": "streaming.datasets.ade20k",
    "StreamingCOCO": "streaming.datasets.coco",
    "StreamingC4": "streaming.datasets.c4",
    "StreamingEnWiki": "streaming.datasets.enwiki",
    "StreamingPile": "streaming.datasets.pile",
    "StreamingLAION": "streaming.datasets.laion",
    "StreamingWebVid": "streaming.datasets.webvid",
    "StreamingImages": "streaming.datasets.images",
}


__getattr__ = lazy_getattr(__name__, READERS)


__all__ = sorted(READERS)
