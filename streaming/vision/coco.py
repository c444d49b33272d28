"""`StreamingCOCO` at mosaicml-streaming's path, with its arguments and samples."""

from __future__ import annotations

from typing import Any

from streaming.datasets.coco import StreamingCOCO as _COCO
from streaming.datasets.peer import signature, split_dataset_args, takes

__all__ = ["StreamingCOCO"]

SIGNATURE = signature(("transform", None), swap_partition_and_cache=True)


class StreamingCOCO(_COCO):
    """COCO as mosaicml-streaming's: ``(img, img_id, (htot, wtot), bbox_sizes, bbox_labels)``
    per sample, the image an RGB PIL image and the boxes and labels the stored numpy arrays,
    through ``transform(img, (htot, wtot), bbox_sizes, bbox_labels)`` where given.

    Takes the peer's arguments: the `StreamingDataset` ones with its defaults, then
    ``transform``.
    """

    @takes(SIGNATURE)
    def __init__(self, **arguments: Any) -> None:
        base, own = split_dataset_args(arguments)
        super().__init__(**own, **base)

    def build(self, sample: dict[str, Any]) -> tuple:
        img = sample["img"].convert("RGB")
        size = (sample["htot"], sample["wtot"])
        boxes, labels = sample["bbox_sizes"], sample["bbox_labels"]
        if self.transform:
            img, size, boxes, labels = self.transform(img, size, boxes, labels)
        return img, sample["img_id"], size, boxes, labels
