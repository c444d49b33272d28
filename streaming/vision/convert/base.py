"""`convert_image_class_dataset` at mosaicml-streaming's path: any ``(image, label)`` dataset to
MDS columns ``i`` (the sample's index in `dataset`), ``x`` (the image) and ``y``."""

from __future__ import annotations

import operator
import os
from typing import Any

import numpy as np

__all__ = ["convert_image_class_dataset"]


def convert_image_class_dataset(
    dataset: Any,
    out_root: str,
    split: str | None = None,
    compression: str | None = None,
    hashes: list[str] | None = None,
    size_limit: int = 1 << 24,
    progress_bar: bool = True,
    leave: bool = False,
    encoding: str = "pil",
) -> None:
    """Write `dataset` (``len`` and ``dataset[i] -> (image, label)``: a torchvision dataset, a
    list of pairs...) to ``<out_root>/<split>`` as the peer does: in the order of
    ``np.random.permutation(len(dataset))`` (numpy's global generator: seed it for a
    reproducible order), columns ``i``, ``x`` (`encoding`) and ``y``. Labels may be numpy
    integers (the peer's int column refuses them, so its own ``fake_cifar10`` fails).

    Args:
        dataset: the ``(image, label)`` pairs.
        out_root: the output root (a directory or remote URL).
        split: the split's subdirectory, if any.
        compression: shard compression (``"zstd"``...), or None.
        hashes: hash algorithms recorded per shard.
        size_limit: uncompressed shard size limit in bytes.
        progress_bar: show a progress bar.
        leave: keep the progress bar when done.
        encoding: the MDS encoding of the images (``pil``, ``jpeg``, ``png``...).
    """
    from tqdm import tqdm

    from streaming import MDSWriter

    columns = {"i": "int", "x": encoding, "y": "int"}
    indices: Any = np.random.permutation(len(dataset)).tolist()
    if progress_bar:
        indices = tqdm(indices, leave=leave)
    out_split_dir = os.path.join(out_root, split or "")
    with MDSWriter(
        out=out_split_dir,
        columns=columns,
        compression=compression,
        hashes=hashes or [],
        size_limit=size_limit,
    ) as out:
        for i in indices:
            x, y = dataset[i]
            out.write({"i": i, "x": x, "y": operator.index(y)})  # numpy ints too
