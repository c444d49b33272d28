"""`StreamingImageNet`: ImageNet as written by ``streaming convert imagenet`` (or the peer)."""

from __future__ import annotations

from streaming.datasets.images import StreamingImageClassification


class StreamingImageNet(StreamingImageClassification):
    """ImageNet: ``(image, label)`` per sample, from columns ``x`` (JPEG) and ``y``.

    The image is decoded to RGB and handed to `transform` (typically a random-resized crop
    and a to-tensor), or becomes a float CHW tensor in [0, 1] without one; with
    ``decode="none"`` it is the JPEG's bytes, for decoding on the GPU. The label is the index of
    the image's class among the sorted wnids.

    Args:
        decode: ``"cpu"`` or ``"none"`` (see `streaming.datasets.images`).
        transform: applied to the PIL image (or to the bytes with ``decode="none"``).
        target_transform: applied to the label.
        with_sample_id: also return the sample id.
        **kwargs: `StreamingDataset` arguments (``local``, ``remote``, ``split``...).
    """
