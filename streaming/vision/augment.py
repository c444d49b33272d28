"""Random-resized-crop, flip and normalize for a batch of decoded images, on their device,
seeded per sample from (seed, epoch, sample id): the same sample gets the same augmentation in
the same epoch, whichever worker, rank or resumed run reads it.

The crop follows torchvision's ``RandomResizedCrop.get_params`` (scale, ratio, ten tries, then
a central fallback), drawn from a per-sample ``torch.Generator`` instead of the global one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = ["sample_seed", "crop_params", "resized_crop", "center_crop_params"]

_MASK = (1 << 63) - 1


def sample_seed(seed: int, epoch: int, sample_id: int) -> int:
    """A 63-bit seed for one sample of one epoch (splitmix64 of the three numbers)."""
    z = (seed * 0x9E3779B97F4A7C15 + epoch * 0xBF58476D1CE4E5B9 + sample_id) & ((1 << 64) - 1)
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & ((1 << 64) - 1)
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & ((1 << 64) - 1)
    return (z ^ (z >> 31)) & _MASK


def crop_params(
    height: int,
    width: int,
    generator: torch.Generator,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
) -> tuple[int, int, int, int]:
    """(top, left, crop height, crop width), as torchvision's ``RandomResizedCrop``."""
    area = height * width
    log_ratio = torch.log(torch.tensor(ratio))
    for _ in range(10):
        target_area = area * torch.empty(1).uniform_(scale[0], scale[1], generator=generator).item()
        aspect = math.exp(
            torch.empty(1).uniform_(log_ratio[0], log_ratio[1], generator=generator).item()
        )
        w = int(round(math.sqrt(target_area * aspect)))
        h = int(round(math.sqrt(target_area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top = int(torch.randint(0, height - h + 1, size=(1,), generator=generator).item())
            left = int(torch.randint(0, width - w + 1, size=(1,), generator=generator).item())
            return top, left, h, w
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        h, w = height, int(round(height * max(ratio)))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def center_crop_params(
    height: int, width: int, size: int, resize: int
) -> tuple[int, int, int, int]:
    """The evaluation crop: resize the shorter side to `resize`, take the central `size`
    square; returned in the original image's pixels."""
    side = min(height, width) * size / resize
    h = w = max(1, int(round(side)))
    return (height - h) // 2, (width - w) // 2, h, w


def resized_crop(
    images: Sequence[torch.Tensor],
    boxes: Sequence[tuple[int, int, int, int]],
    flips: Sequence[bool],
    size: int,
) -> torch.Tensor:
    """Crop each uint8 ``(3, H, W)`` image to its box, resize it to ``size x size`` (bilinear,
    antialiased, as torchvision's tensor path), flip it if asked: a float batch in [0, 255]."""
    out = []
    for image, (top, left, h, w), flip in zip(images, boxes, flips, strict=True):
        crop = image[:, top : top + h, left : left + w].unsqueeze(0).float()
        crop = F.interpolate(crop, size=(size, size), mode="bilinear", antialias=True,
                             align_corners=False)
        out.append(crop.flip(-1) if flip else crop)
    return torch.cat(out)
