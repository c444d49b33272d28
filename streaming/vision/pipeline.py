"""`ImageBatchPipeline`: encoded image bytes in, a normalized channels_last batch out, on the
training device. It runs after the batch reaches the device (Lightning's
``on_after_batch_transfer``, Composer's ``microbatch_transforms``), so DataLoader workers only
read and collate bytes. On a machine without a GPU the same code runs on the CPU."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from streaming.vision.augment import center_crop_params, crop_params, resized_crop, sample_seed
from streaming.vision.decode import decode_images

__all__ = ["ImageBatchPipeline", "IMAGENET_MEAN", "IMAGENET_STD"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageBatchPipeline:
    """Decode, crop, flip and normalize a batch of encoded images on one device.

    Args:
        size: Output side in pixels.
        train: Random-resized-crop and flip (True) or resize-and-center-crop (False).
        seed: Seed of the augmentations (with each sample's epoch and id).
        scale: Crop area range (train).
        ratio: Crop aspect range (train).
        flip: Probability of a horizontal flip (train).
        resize: Shorter side before the center crop (eval).
        mean: Per-channel mean, in [0, 1] units.
        std: Per-channel standard deviation, in [0, 1] units.
        dtype: Output dtype (e.g. ``torch.bfloat16``).
        channels_last: Return a channels_last tensor.
    """

    def __init__(
        self,
        size: int = 224,
        train: bool = True,
        seed: int = 0,
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        flip: float = 0.5,
        resize: int = 256,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        dtype: torch.dtype = torch.float32,
        channels_last: bool = True,
    ) -> None:
        self.size, self.train, self.seed = size, train, seed
        self.scale, self.ratio, self.flip, self.resize = scale, ratio, flip, resize
        self.mean, self.std = tuple(mean), tuple(std)
        self.dtype, self.channels_last = dtype, channels_last

    def params(
        self, shapes: Sequence[tuple[int, int]], sample_ids: Sequence[int], epoch: int
    ) -> tuple[list[tuple[int, int, int, int]], list[bool]]:
        """The crop box and flip of each sample (pure: depends only on the arguments)."""
        boxes, flips = [], []
        for (height, width), sample_id in zip(shapes, sample_ids, strict=True):
            if not self.train:
                boxes.append(center_crop_params(height, width, self.size, self.resize))
                flips.append(False)
                continue
            gen = torch.Generator().manual_seed(sample_seed(self.seed, epoch, int(sample_id)))
            boxes.append(crop_params(height, width, gen, self.scale, self.ratio))
            flips.append(bool(torch.rand(1, generator=gen).item() < self.flip))
        return boxes, flips

    def __call__(
        self,
        images: Sequence[Any],
        sample_ids: Sequence[int] | torch.Tensor,
        epoch: int = 0,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """The batch ``(N, 3, size, size)`` on `device` (default: CPU).

        Args:
            images: Encoded image bytes, one per sample.
            sample_ids: Each sample's id in the dataset (seeds its augmentation).
            epoch: The epoch (seeds the augmentation).
            device: Where to decode and augment (``cuda`` uses nvjpeg).
        """
        if isinstance(sample_ids, torch.Tensor):
            sample_ids = sample_ids.tolist()
        if len(images) != len(sample_ids):
            raise ValueError(f"{len(images)} images but {len(sample_ids)} sample ids")
        decoded = decode_images(images, device)
        boxes, flips = self.params([tuple(t.shape[1:]) for t in decoded], sample_ids, epoch)
        batch = resized_crop(decoded, boxes, flips, self.size)
        dev = batch.device
        mean = torch.tensor(self.mean, device=dev).view(1, 3, 1, 1) * 255
        std = torch.tensor(self.std, device=dev).view(1, 3, 1, 1) * 255
        batch = ((batch - mean) / std).to(self.dtype)
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch
