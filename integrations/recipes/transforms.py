"""The CPU side of the recipes' data pipelines: per-sample transforms (run in the DataLoader
workers) and the collate functions that turn each reader's samples into a dict batch.

Every batch is a dict whose first value holds one entry per sample (the adapters count a
batch by it) and whose ``sample_id`` holds each sample's id in the dataset. The classes here
are picklable, for DataLoader workers started by spawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch.nn import functional as F
from torch.utils.data import default_collate
from torchvision import transforms as T

from streaming.vision import IMAGENET_MEAN, IMAGENET_STD

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)
CLIP_MEAN = (0.4815, 0.4578, 0.4082)
CLIP_STD = (0.2686, 0.2613, 0.2758)


def eval_resize(size: int) -> int:
    """The side images are resized to before a center crop of `size` (ImageNet's 256 -> 224)."""
    return round(size * 256 / 224)


def imagenet_transform(size: int, train: bool) -> T.Compose:
    """Random-resized crop and flip (train), or resize and center crop (eval); normalized."""
    if train:
        steps = [T.RandomResizedCrop(size), T.RandomHorizontalFlip()]
    else:
        steps = [T.Resize(eval_resize(size)), T.CenterCrop(size)]
    return T.Compose([*steps, T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])


def cifar_transform(size: int, train: bool) -> T.Compose:
    """Padded random crop and flip (train); normalized with CIFAR10's statistics."""
    steps: list[Any] = [] if size == 32 else [T.Resize(size)]
    if train:
        steps += [T.RandomCrop(size, padding=size // 8), T.RandomHorizontalFlip()]
    return T.Compose([*steps, T.ToTensor(), T.Normalize(CIFAR_MEAN, CIFAR_STD)])


def clip_transform(size: int, train: bool) -> T.Compose:
    """CLIP's preprocessing: a mild random-resized crop (train) or resize and center crop."""
    if train:
        steps = [T.RandomResizedCrop(size, scale=(0.9, 1.0))]
    else:
        steps = [T.Resize(size), T.CenterCrop(size)]
    return T.Compose([*steps, T.ToTensor(), T.Normalize(CLIP_MEAN, CLIP_STD)])


def normalize_transform() -> T.Compose:
    """To a float tensor, normalized with ImageNet's statistics."""
    return T.Compose([T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])


class JointResize:
    """ADE20K's ``(image, map)`` pair resized to `size` x `size` (bilinear for the image,
    nearest for the class map), and flipped together at random when training."""

    def __init__(self, size: int, train: bool) -> None:
        self.size, self.train = size, train

    def __call__(self, pair: tuple[Any, Any]) -> tuple[Any, Any]:
        from PIL import Image

        image, label_map = pair
        side = (self.size, self.size)
        image = image.resize(side, Image.Resampling.BILINEAR)
        label_map = label_map.resize(side, Image.Resampling.NEAREST)
        if self.train and torch.rand(()) < 0.5:
            flip = Image.Transpose.FLIP_LEFT_RIGHT
            image, label_map = image.transpose(flip), label_map.transpose(flip)
        return image, label_map


class DetectionTransform:
    """COCO's ``(image, (height, width), boxes, labels)``: the image resized to `size` x `size`
    and normalized; boxes are fractions of the image, so they stay, except for a random flip
    of image and boxes together when training."""

    def __init__(self, size: int, train: bool) -> None:
        self.size, self.train = size, train
        self.to_tensor = normalize_transform()

    def __call__(self, image: Any, size: Any, boxes: torch.Tensor, labels: torch.Tensor) -> tuple:
        from PIL import Image

        image = image.resize((self.size, self.size), Image.Resampling.BILINEAR)
        if self.train and torch.rand(()) < 0.5:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            boxes = torch.stack([1 - boxes[:, 2], boxes[:, 1], 1 - boxes[:, 0], boxes[:, 3]], 1)
        return self.to_tensor(image), size, boxes, labels


class VideoTransform:
    """WebVid's uint8 frames (T, 3, H, W) as floats resized to `size` x `size`, normalized."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        video = frames.float().div_(255)
        video = F.interpolate(video, size=(self.size, self.size), mode="bilinear", antialias=True)
        return (video - self.mean) / self.std


class Tokenize:
    """A caption (str) as `length` token ids (int64), padded with the pad id."""

    def __init__(self, tokenizer_name: str, length: int) -> None:
        from streaming.datasets.text import get_tokenizer

        self.tokenizer = get_tokenizer(tokenizer_name)
        self.length = length

    def __call__(self, text: str) -> torch.Tensor:
        from streaming.datasets.text import fixed_length

        ids, _ = fixed_length(self.tokenizer.encode(text), self.length, self.tokenizer.pad_token_id)
        return ids


class DictCollate:
    """Collate a reader's tuples into a dict batch named by `keys`.

    Args:
        keys: a name for each position of the reader's tuple.
        lists: keys collated as lists (values of varying shape, such as boxes).
        drop: keys left out of the batch.
    """

    def __init__(
        self, keys: Sequence[str], lists: Sequence[str] = (), drop: Sequence[str] = ()
    ) -> None:
        self.keys, self.lists, self.drop = tuple(keys), tuple(lists), tuple(drop)

    def __call__(self, samples: list[tuple]) -> dict[str, Any]:
        batch: dict[str, Any] = {}
        for i, key in enumerate(self.keys):
            if key in self.drop:
                continue
            column = [sample[i] for sample in samples]
            batch[key] = column if key in self.lists else default_collate(column)
        return batch
