"""`StreamingADE20K` at mosaicml-streaming's path, with its arguments and samples."""

from __future__ import annotations

from typing import Any

from streaming.datasets.ade20k import StreamingADE20K as _ADE20K
from streaming.datasets.peer import signature, split_dataset_args, takes

__all__ = ["StreamingADE20K"]

SIGNATURE = signature(
    ("joint_transform", None),
    ("transform", None),
    ("target_transform", None),
    swap_partition_and_cache=True,
)


class StreamingADE20K(_ADE20K):
    """ADE20K as mosaicml-streaming's: ``(x, y)`` per sample, the image and its segmentation
    map as PIL images (as stored: no conversion, no tensors), through ``joint_transform((x,
    y))``, then ``transform(x)`` and ``target_transform(y)`` where given.

    Takes the peer's arguments: the `StreamingDataset` ones with its defaults, then the three
    transforms.
    """

    @takes(SIGNATURE)
    def __init__(self, **arguments: Any) -> None:
        base, own = split_dataset_args(arguments)
        super().__init__(**own, **base)

    def build(self, sample: dict[str, Any]) -> tuple:
        x, y = sample["x"], sample["y"]
        if self.joint_transform:
            x, y = self.joint_transform((x, y))
        if self.transform:
            x = self.transform(x)
        if self.target_transform:
            y = self.target_transform(y)
        return x, y
