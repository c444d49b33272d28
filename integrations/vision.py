"""The image path of issue 8 for both trainers: the batch arrives on the device with its images
still encoded (``decode="none"`` readers), and `image_device_transform` decodes and augments
them there (`streaming.vision.ImageBatchPipeline`: nvjpeg on a GPU, the same code on a CPU).

Lightning runs it in ``StreamingDataModule.on_after_batch_transfer`` (pass it as
``device_transform``); Composer as the DataSpec's ``microbatch_transforms`` (`build_dataspec`'s
``device_transform``). Augmentations are seeded by each sample's id and the epoch, so they are
the same after a resume.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from streaming.vision import ImageBatchPipeline

__all__ = ["image_device_transform", "batch_device"]


def batch_device(batch: Any) -> torch.device:
    """The device of the first tensor in `batch` (CPU if it holds none)."""
    values = batch.values() if isinstance(batch, Mapping) else batch
    for value in values:
        if isinstance(value, torch.Tensor):
            return value.device
    return torch.device("cpu")


def image_device_transform(
    pipeline: ImageBatchPipeline, image_key: str | int = 0, id_key: str | int = -1
) -> Callable[[Any, int], Any]:
    """A ``(batch, epoch) -> batch`` that replaces the encoded images of `batch` by the decoded,
    augmented, normalized images on the batch's device.

    Args:
        pipeline: The decode-and-augment stage (train or eval settings).
        image_key: Where the encoded images are: a position in a tuple batch (the readers'
            ``(image, label, sample_id)``: 0) or a key of a dict batch.
        id_key: Where each sample's id is (readers built with ``with_sample_id=True``: -1).
    """

    def apply(batch: Any, epoch: int) -> Any:
        mapping = isinstance(batch, Mapping)
        if (mapping and id_key not in batch) or (not mapping and isinstance(id_key, str)):
            raise KeyError(
                f"The batch has no {id_key!r} column: build the reader with "
                "with_sample_id=True (augmentations are seeded by sample id)"
            )
        images = pipeline(batch[image_key], batch[id_key], epoch, batch_device(batch))
        if mapping:
            return {**batch, image_key: images}
        out = list(batch)
        out[image_key] = images
        return type(batch)(out) if isinstance(batch, tuple) else out

    return apply
