"""ADE20K (the SceneParsing ``ADEChallengeData2016`` release) from its images and annotations.

Images are ``images/{training,validation}/ADE_{train,val}_<8 digits>.jpg`` and each has a
segmentation map ``annotations/{training,validation}/<same name>.png`` (one class id per pixel,
0 = other, 1..150 = classes). Splits are named ``train`` and ``val`` as mosaicml-streaming
names them; its reader's columns are ``x`` (the JPEG) and ``y`` (the PNG), plus ``uid``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from streaming.datasets.convert.base import Converter, Part, RawDataError, chunk, want
from streaming.datasets.convert.sources import find, image_bytes, read_bytes

SPLITS = {"train": "training", "val": "validation"}


class ADE20KConverter(Converter):
    """ADE20K's images and annotation maps to MDS columns ``uid``, ``x`` and ``y``."""

    name = "ade20k"
    summary = "ADE20K scene parsing images and annotation PNGs"
    layout = "ADEChallengeData2016/ with images/{training,validation}/*.jpg and annotations/..."

    @property
    def columns(self) -> dict[str, str]:
        return {"uid": "str", "x": "jpeg", "y": "png"}

    def plan(self, raw: str, splits: list[str] | None = None) -> list[Part]:
        root = os.path.join(raw, "ADEChallengeData2016")
        root = root if os.path.isdir(root) else raw
        parts: list[Part] = []
        for split, folder in SPLITS.items():
            if not want(split, splits):
                continue
            image_dir = os.path.join(root, "images", folder)
            label_dir = os.path.join(root, "annotations", folder)
            if not os.path.isdir(image_dir):
                if splits is None:
                    continue
                raise RawDataError(f"No ADE20K {split} images: {image_dir!r} does not exist")
            images = [p for p in find(image_dir, "*") if p.lower().endswith(".jpg")]
            if not images:
                raise RawDataError(f"No .jpg images in {image_dir!r}")
            pairs = []
            for image in images:
                uid = os.path.splitext(os.path.basename(image))[0]
                label = os.path.join(label_dir, uid + ".png")
                if not os.path.isfile(label):
                    raise RawDataError(f"Image {image!r} has no annotation: missing {label!r}")
                pairs.append((uid, image, label))
            for k, run in enumerate(chunk(pairs, self.part_size)):
                parts.append(Part(split, k, f"{image_dir} from {run[0][0]}", run, len(run)))
        if not parts:
            raise RawDataError(f"No ADE20K images in {raw!r}; expected {self.layout}")
        return parts

    def read_part(self, part: Part) -> Iterator[dict[str, Any]]:
        for uid, image, label in part.payload:
            yield {
                "uid": uid,
                "x": image_bytes(read_bytes(image), repr(image)),
                "y": image_bytes(read_bytes(label), repr(label), fmt="PNG"),
            }
