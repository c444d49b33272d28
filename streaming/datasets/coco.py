"""`StreamingCOCO`: COCO 2017 detection as written by ``streaming convert coco``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from streaming.datasets.images import StreamingImageDataset, decode_image, image_to_tensor


class StreamingCOCO(StreamingImageDataset):
    """COCO: ``(image, img_id, (height, width), boxes, labels)`` per sample, as the peer's.

    ``boxes`` is a float32 tensor of shape (N, 4), each ``(left, top, right, bottom)`` as
    fractions of the image's size; ``labels`` an int64 tensor of N categories in 1..80. Boxes
    vary in number, so batch with a collate function of your own (as for any detector).

    Args:
        transform: ``transform(image, (height, width), boxes, labels)`` returning the same four,
            as mosaicml-streaming's; without it the image becomes a float CHW tensor in [0, 1].
        decode: ``"cpu"`` or ``"none"`` (the image's JPEG bytes; `transform` is then skipped).
        with_sample_id: also return the sample id.
        **kwargs: `StreamingDataset` arguments (``local``, ``remote``, ``split``...).
    """

    image_columns = ("img",)

    def __init__(self, *, transform: Callable | None = None, **kwargs: Any) -> None:
        super().__init__(transform=transform, **kwargs)

    def build(self, sample: dict[str, Any]) -> tuple:
        import torch

        size = (sample["htot"], sample["wtot"])
        boxes = torch.from_numpy(np.array(sample["bbox_sizes"], np.float32).reshape(-1, 4))
        labels = torch.from_numpy(np.array(sample["bbox_labels"], np.int64))
        img = sample["img"]
        if self.decode == "none":
            return img, sample["img_id"], size, boxes, labels
        img = decode_image(img)
        if self.transform:
            img, size, boxes, labels = self.transform(img, size, boxes, labels)
        else:
            img = image_to_tensor(img)
        return img, sample["img_id"], size, boxes, labels
