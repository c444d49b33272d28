"""COCO 2017 object detection from its instances JSON and images.

The raw layout is ``annotations/instances_{train,val}2017.json`` and the images in
``{train,val}2017/`` (or ``images/{train,val}2017/``). Columns follow mosaicml-streaming's
converter: ``img`` (the JPEG), ``img_id``, ``htot`` and ``wtot`` (the image's height and
width), ``bbox_sizes`` (one ``(left, top, right, bottom)`` box per object, as fractions of the
image's size) and ``bbox_labels`` (the category of each box, numbered 1..80 in the order of the
JSON's ``categories``; 0 is the background). The peer stores the boxes as pickles; here they
are ``ndarray:float32`` and ``ndarray:int64``, which read without running code. Images with no
annotation are left out, as the peer does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from streaming.datasets.convert.base import Converter, Part, RawDataError, chunk, want
from streaming.datasets.convert.sources import image_bytes, read_bytes


class COCOConverter(Converter):
    """COCO 2017's instances JSON and images to MDS, one sample per annotated image."""

    name = "coco"
    summary = "COCO 2017 instances JSON and images"
    layout = "annotations/instances_{train,val}2017.json with images in {train,val}2017/"

    @property
    def columns(self) -> dict[str, str]:
        return {
            "img": "jpeg",
            "img_id": "int",
            "htot": "int",
            "wtot": "int",
            "bbox_sizes": "ndarray:float32",
            "bbox_labels": "ndarray:int64",
        }

    def plan(self, raw: str, splits: list[str] | None = None) -> list[Part]:
        parts: list[Part] = []
        for split in ("train", "val"):
            path = os.path.join(raw, "annotations", f"instances_{split}2017.json")
            if not want(split, splits) or (splits is None and not os.path.isfile(path)):
                continue
            images = _image_dir(raw, split)
            samples = _annotated_images(path, images)
            for k, run in enumerate(chunk(samples, self.part_size)):
                parts.append(Part(split, k, f"{path} from image {run[0][1]}", run, len(run)))
        if not parts and splits is None:
            raise RawDataError(f"No COCO annotations in {raw!r}; expected {self.layout}")
        return parts

    def read_part(self, part: Part) -> Iterator[dict[str, Any]]:
        for path, img_id, height, width, boxes, labels in part.payload:
            yield {
                "img": image_bytes(read_bytes(path), repr(path)),
                "img_id": img_id,
                "htot": height,
                "wtot": width,
                "bbox_sizes": np.asarray(boxes, np.float32).reshape(-1, 4),
                "bbox_labels": np.asarray(labels, np.int64),
            }


def _image_dir(raw: str, split: str) -> str:
    for folder in (os.path.join(raw, f"{split}2017"), os.path.join(raw, "images", f"{split}2017")):
        if os.path.isdir(folder):
            return folder
    raise RawDataError(f"No COCO {split} images: {os.path.join(raw, f'{split}2017')!r} is missing")


def _annotated_images(path: str, folder: str) -> list[tuple]:
    """(file, id, height, width, boxes, labels) per annotated image, in the JSON's order."""
    try:
        with open(path, "rb") as f:
            data = json.load(f)
        label_of = {c["id"]: i for i, c in enumerate(data["categories"], 1)}
        images = {
            img["id"]: (img["file_name"], int(img["height"]), int(img["width"]))
            for img in data["images"]
        }
        annotations = data["annotations"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        reason = f"missing key {err}" if isinstance(err, KeyError) else str(err)
        raise RawDataError(f"{path!r} is not a COCO instances file ({reason})") from None
    boxes: dict[int, list] = {}
    for n, ann in enumerate(annotations):
        try:
            image = images[ann["image_id"]]
            label = label_of[ann["category_id"]]
            left, top, w, h = (float(v) for v in ann["bbox"])
        except (KeyError, TypeError, ValueError) as err:
            raise RawDataError(
                f"{path!r}: annotation {n} (id {ann.get('id')!r}) refers to an unknown image or "
                f"category, or has a malformed bbox ({type(err).__name__}: {err})"
            ) from None
        _, height, width = image
        box = (left / width, top / height, (left + w) / width, (top + h) / height)
        boxes.setdefault(ann["image_id"], []).append((box, label))
    out = []
    for img_id, (name, height, width) in images.items():
        if img_id in boxes:
            pairs = boxes[img_id]
            out.append(
                (
                    os.path.join(folder, name),
                    img_id,
                    height,
                    width,
                    [b for b, _ in pairs],
                    [lab for _, lab in pairs],
                )
            )
    return out
