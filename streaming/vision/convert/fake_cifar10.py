"""``python -m streaming.vision.convert.fake_cifar10 --out DIR``: a CIFAR-10-shaped dataset of
random 32x32 images and labels (``--num_train``, ``--num_val`` samples), as the peer's script
makes it, for benchmarks that need no download."""

from __future__ import annotations

import argparse

import numpy as np

from streaming.vision.convert.base import convert_image_class_dataset


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The peer's arguments: ``--out``, ``--num_train``, ``--num_val``."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", type=str, default="/tmp/fake_cifar10/")
    p.add_argument("--num_train", type=int, default=8 * 8 * 16384)
    p.add_argument("--num_val", type=int, default=8 * 8 * 2048)
    return p.parse_args(argv)


def make_split(root: str, split: str, count: int) -> None:
    """Write `count` random samples as split `split` under `root`."""
    from PIL import Image

    x = np.random.randint(0, 255, (count, 32, 32, 3), np.uint8)
    y = np.random.randint(0, 9, count)
    dataset = list(zip(map(Image.fromarray, x), y, strict=True))
    convert_image_class_dataset(dataset=dataset, out_root=root, split=split)


def main(args: argparse.Namespace) -> None:
    """Write the train and val splits."""
    make_split(args.out, "train", args.num_train)
    make_split(args.out, "val", args.num_val)


if __name__ == "__main__":
    main(parse_args())
