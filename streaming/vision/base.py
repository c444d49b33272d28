"""`StreamingVisionDataset` at mosaicml-streaming's path: image classification samples.

An ``(x, y)`` pair per sample from the columns ``x`` (an image) and ``y`` (its label), through
``transforms(x, y)``, or ``transform``/``target_transform``; without a transform the image
becomes a float CHW tensor in [0, 1] as torchvision's ``to_tensor`` makes it (in the image's
own mode: no conversion to RGB), as the peer's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streaming.datasets.images import StreamingImageClassification, decode_image, image_to_tensor
from streaming.datasets.peer import signature, split_dataset_args, takes

__all__ = ["StreamingVisionDataset"]

SIGNATURE = signature(
    ("transforms", None),
    ("transform", None),
    ("target_transform", None),
    batch_size_required=True,
)


class StandardTransform:
    """``(x, y) -> (transform(x) or to_tensor(x), target_transform(y) or y)``."""

    def __init__(
        self, transform: Callable | None = None, target_transform: Callable | None = None
    ) -> None:
        self.transform = transform
        self.target_transform = target_transform

    def __call__(self, x: Any, y: Any) -> tuple[Any, Any]:
        x = self.transform(x) if self.transform else image_to_tensor(x)
        if self.target_transform:
            y = self.target_transform(y)
        return x, y


class StreamingVisionDataset(StreamingImageClassification):
    """Image classification with mosaicml-streaming's arguments and samples.

    Takes the `StreamingDataset` arguments with the peer's defaults (``batch_size`` is
    required, as in the peer), then ``transforms`` (``(x, y) -> (x, y)``) or
    ``transform``/``target_transform`` (not both kinds).
    """

    @takes(SIGNATURE)
    def __init__(self, **arguments: Any) -> None:
        base, own = split_dataset_args(arguments)
        transforms = own["transforms"]
        transform, target_transform = own["transform"], own["target_transform"]
        if transforms is not None and (transform is not None or target_transform is not None):
            raise ValueError(
                f"{type(self).__name__}: pass either transforms or transform/target_transform, "
                "not both"
            )
        super().__init__(transform=transform, target_transform=target_transform, **base)
        if transforms is None:
            transforms = StandardTransform(transform, target_transform)
        self.transforms = transforms

    def build(self, sample: dict[str, Any]) -> tuple:
        return self.transforms(decode_image(sample["x"], mode=None), sample["y"])
