"""`StreamingADE20K`: ADE20K scene parsing as written by ``streaming convert ade20k``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streaming.datasets.images import (
    StreamingImageDataset,
    decode_image,
    image_to_tensor,
    label_map_to_tensor,
)


class StreamingADE20K(StreamingImageDataset):
    """ADE20K: ``(image, segmentation)`` per sample, from columns ``x`` (JPEG) and ``y`` (PNG).

    With ``decode="cpu"``, the RGB image and the class-id map (a PIL ``L`` image) go through
    `joint_transform` (``(image, map) -> (image, map)``, for crops and flips that must match),
    then `transform` and `target_transform`; without them the image becomes a float CHW tensor
    in [0, 1] and the map an int64 HxW tensor (0 = other, 1..150 = classes). With
    ``decode="none"`` both are handed out as their encoded bytes.

    Args:
        joint_transform: applied to the (image, map) pair first.
        decode: ``"cpu"`` or ``"none"``.
        transform: applied to the image.
        target_transform: applied to the map.
        with_sample_id: also return the sample id.
        **kwargs: `StreamingDataset` arguments (``local``, ``remote``, ``split``...).
    """

    image_columns = ("x", "y")

    def __init__(self, *, joint_transform: Callable | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.joint_transform = joint_transform

    def build(self, sample: dict[str, Any]) -> tuple:
        x, y = sample["x"], sample["y"]
        if self.decode == "none":
            return self.image(x), self.target(y)
        x, y = decode_image(x), decode_image(y, mode=None)
        if self.joint_transform:
            x, y = self.joint_transform((x, y))
        x = self.transform(x) if self.transform else image_to_tensor(x)
        y = self.target_transform(y) if self.target_transform else label_map_to_tensor(y)
        return x, y
