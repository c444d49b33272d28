"""CIFAR-10 from its python pickle batches (``cifar-10-python.tar.gz``, extracted), read safely.

Each of ``data_batch_1`` .. ``data_batch_5`` (train) and ``test_batch`` (val) is a pickled
dict with ``b"data"`` (N x 3072 uint8: 1024 red, 1024 green, 1024 blue values per image, rows
top to bottom) and ``b"labels"`` (N ints in 0..9). Columns are mosaicml-streaming's: ``x``
(the 32x32 RGB image) and ``y`` (the label). ``x`` is lossless PNG by default, so a reader can
hand out encoded bytes for GPU decoding; ``--encoding pil`` stores raw pixels as the peer does.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from streaming.datasets.convert.base import Converter, Part, RawDataError, want
from streaming.datasets.convert.safe_pickle import RefusedGlobalError, load_plain

SPLITS = {"train": [f"data_batch_{i}" for i in range(1, 6)], "val": ["test_batch"]}
ENCODINGS = ("png", "pil", "jpeg")


class CIFAR10Converter(Converter):
    """CIFAR-10's python batches to MDS columns ``x`` (image) and ``y`` (int label).

    Args:
        encoding: how ``x`` is stored: ``png`` (lossless, default), ``pil`` (raw pixels, as
            the peer's converter) or ``jpeg``.
    """

    name = "cifar10"
    summary = "CIFAR-10 python pickle batches"
    layout = "cifar-10-batches-py/ with data_batch_1..5 and test_batch"
    default_size_limit = "16mb"

    def __init__(self, encoding: str = "png", part_size: int = 10_000) -> None:
        super().__init__(part_size)
        if encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
        self.encoding = encoding

    @property
    def columns(self) -> dict[str, str]:
        return {"x": self.encoding, "y": "int"}

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--encoding", choices=ENCODINGS, default="png", help="how images are stored"
        )

    @classmethod
    def options_from_args(cls, args: argparse.Namespace) -> dict[str, Any]:
        return {**super().options_from_args(args), "encoding": args.encoding}

    def plan(self, raw: str, splits: list[str] | None = None) -> list[Part]:
        root = os.path.join(raw, "cifar-10-batches-py")
        root = root if os.path.isdir(root) else raw
        parts = []
        for split, names in SPLITS.items():
            if not want(split, splits):
                continue
            for i, name in enumerate(names):
                path = os.path.join(root, name)
                if not os.path.isfile(path):
                    raise RawDataError(
                        f"Missing CIFAR-10 batch {path!r}; expected {self.layout} in {raw!r}"
                    )
                parts.append(Part(split, i, name, path))
        return parts

    def read_part(self, part: Part) -> Iterator[dict[str, Any]]:
        from PIL import Image

        images, labels = load_batch(part.payload)
        for image, label in zip(images, labels, strict=True):
            yield {"x": Image.fromarray(image), "y": label}


def load_batch(path: str) -> tuple[np.ndarray, list[int]]:
    """Images (N x 32 x 32 x 3 uint8) and labels of one batch file, checked.

    The official batches are pickles; they are read with `load_plain`, which builds only
    dicts, lists, strings, numbers and NumPy arrays, so a crafted file cannot run code.
    """
    try:
        with open(path, "rb") as f:
            obj = load_plain(f, encoding="bytes")
    except RefusedGlobalError as err:
        raise RawDataError(
            f"{path!r} is not a CIFAR-10 batch and was not unpickled: {err}"
        ) from None
    except Exception as err:
        raise RawDataError(f"{path!r} is not a CIFAR-10 pickle batch ({err})") from None
    if not isinstance(obj, dict):
        raise RawDataError(f"{path!r} is not a CIFAR-10 batch: it holds no dict")
    obj = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}
    data, labels = obj.get("data"), obj.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2:
        raise RawDataError(f"{path!r}: 'data' must be an N x 3072 uint8 array")
    if data.shape[1] != 3072:
        raise RawDataError(f"{path!r}: 'data' rows have {data.shape[1]} values, expected 3072")
    if not isinstance(labels, list) or len(labels) != len(data):
        raise RawDataError(f"{path!r}: 'labels' must be a list of {len(data)} ints")
    for i, label in enumerate(labels):
        if not isinstance(label, int) or not 0 <= label < 10:
            raise RawDataError(f"{path!r}: label {i} is {label!r}, expected an int in 0..9")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels
