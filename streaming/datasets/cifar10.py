"""`StreamingCIFAR10`: CIFAR-10 as written by ``streaming convert cifar10`` (or the peer)."""

from __future__ import annotations

from streaming.datasets.images import StreamingImageClassification

CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


class StreamingCIFAR10(StreamingImageClassification):
    """CIFAR-10: ``(image, label)`` per sample, from columns ``x`` and ``y``.

    The image is a 3x32x32 float tensor in [0, 1] without a `transform` (the PIL image goes to
    a `transform` if given), or its PNG/JPEG bytes with ``decode="none"``. The label is an int
    in 0..9 (`CLASSES`).

    Args:
        decode: ``"cpu"`` or ``"none"`` (see `streaming.datasets.images`).
        transform: applied to the PIL image (or to the bytes with ``decode="none"``).
        target_transform: applied to the label.
        with_sample_id: also return the sample id.
        **kwargs: `StreamingDataset` arguments (``local``, ``remote``, ``split``...).
    """
