"""ImageNet (ILSVRC2012 classification) from its class-folder tree and validation labels.

Train images are ``train/<wnid>/*.JPEG``. Validation images are either in class folders too
(``val/<wnid>/*.JPEG``, after the usual ``valprep.sh``) or flat in ``val/`` with a labels file:

* ``LOC_val_solution.csv`` (Kaggle's layout: ``ImageId,PredictionString``, the first word of
  the prediction string being the wnid), beside ``val/`` or in the raw root; or
* the devkit's ``ILSVRC2012_validation_ground_truth.txt`` (one ILSVRC2012_ID per line, in file
  name order) with ``meta.mat`` mapping IDs to wnids (read with scipy).

Kaggle's ``ILSVRC/Data/CLS-LOC/{train,val}`` nesting is found too. Labels are indices into the
sorted wnids (torchvision's ``ImageFolder`` order). Columns are mosaicml-streaming's: ``i`` (the
image's index in the sorted file list), ``x`` (the JPEG bytes) and ``y`` (the label). Train
images are written in a fixed shuffled order (seed 0), so that each shard mixes classes.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from streaming.datasets.convert.base import Converter, Part, RawDataError, chunk, want
from streaming.datasets.convert.sources import find, image_bytes, read_bytes

EXTENSIONS = (".jpeg", ".jpg", ".png")
VAL_CSV = "LOC_val_solution.csv"
VAL_TXT = "ILSVRC2012_validation_ground_truth.txt"


class ImageNetConverter(Converter):
    """ImageNet's folders to MDS columns ``i`` (int), ``x`` (jpeg) and ``y`` (int)."""

    name = "imagenet"
    summary = "ImageNet class folders and validation labels"
    layout = (
        "train/<wnid>/*.JPEG, and val/<wnid>/*.JPEG or val/*.JPEG with LOC_val_solution.csv "
        "or ILSVRC2012_validation_ground_truth.txt + meta.mat"
    )

    @property
    def columns(self) -> dict[str, str]:
        return {"i": "int", "x": "jpeg", "y": "int"}

    def plan(self, raw: str, splits: list[str] | None = None) -> list[Part]:
        images = _image_root(raw)
        wnids = _class_names(raw, images)
        index = {w: i for i, w in enumerate(wnids)}
        parts: list[Part] = []
        for split in ("train", "val"):
            folder = os.path.join(images, split)
            if not want(split, splits) or not os.path.isdir(folder):
                if splits is not None and split in splits:
                    raise RawDataError(f"No {split} images: {folder!r} does not exist")
                continue
            files, labels = _split_files(raw, folder, index)
            order = np.arange(len(files))
            if split == "train":
                order = np.random.default_rng(0).permutation(len(files))
            todo = [(int(i), files[i], labels[i]) for i in order]
            for k, run in enumerate(chunk(todo, self.part_size)):
                source = f"{split} images {k * self.part_size}-{k * self.part_size + len(run) - 1}"
                parts.append(Part(split, k, source, run, len(run)))
        return parts

    def read_part(self, part: Part) -> Iterator[dict[str, Any]]:
        for i, path, label in part.payload:
            yield {"i": i, "x": image_bytes(read_bytes(path), repr(path)), "y": label}


def _image_root(raw: str) -> str:
    kaggle = os.path.join(raw, "ILSVRC", "Data", "CLS-LOC")
    if os.path.isdir(kaggle):
        return kaggle
    if not any(os.path.isdir(os.path.join(raw, s)) for s in ("train", "val")):
        raise RawDataError(f"No ImageNet folders in {raw!r}: expected train/ and/or val/")
    return raw


def _is_image(name: str) -> bool:
    return name.lower().endswith(EXTENSIONS)


def _class_names(raw: str, images: str) -> list[str]:
    train = os.path.join(images, "train")
    if os.path.isdir(train):
        names = sorted(d for d in os.listdir(train) if os.path.isdir(os.path.join(train, d)))
        if names:
            return names
    mapping = os.path.join(raw, "LOC_synset_mapping.txt")
    if os.path.isfile(mapping):
        with open(mapping) as f:
            return sorted(line.split()[0] for line in f if line.strip())
    val = os.path.join(images, "val")
    names = sorted(d for d in os.listdir(val) if os.path.isdir(os.path.join(val, d)))
    if names:
        return names
    raise RawDataError(
        f"Cannot tell ImageNet's classes: no class folders in {train!r} or {val!r}, and no "
        f"{mapping!r}"
    )


def _split_files(raw: str, folder: str, index: dict[str, int]) -> tuple[list[str], list[int]]:
    flat = sorted(f for f in os.listdir(folder) if _is_image(f))
    if not flat:  # class folders
        files = [f for f in find(folder, "*/*") if _is_image(f)]
        if not files:
            raise RawDataError(f"No images in {folder!r}: expected <wnid>/*.JPEG")
        labels = []
        for path in files:
            wnid = os.path.basename(os.path.dirname(path))
            if wnid not in index:
                raise RawDataError(f"{path!r} is in class folder {wnid!r}, which train lacks")
            labels.append(index[wnid])
        return files, labels
    by_name = _val_labels(raw, folder, flat)
    labels = []
    for name in flat:
        wnid = by_name.get(os.path.splitext(name)[0])
        if wnid is None:
            raise RawDataError(f"No label for {os.path.join(folder, name)!r} in the labels file")
        if wnid not in index:
            raise RawDataError(f"Label {wnid!r} of {name!r} is not one of the {len(index)} classes")
        labels.append(index[wnid])
    return [os.path.join(folder, f) for f in flat], labels


def _val_labels(raw: str, folder: str, flat: list[str]) -> dict[str, str]:
    """Image name (without extension) -> wnid, from whichever labels file is there."""
    for base in (os.path.dirname(folder), raw):
        path = os.path.join(base, VAL_CSV)
        if os.path.isfile(path):
            return _read_csv(path)
    for base in (os.path.dirname(folder), raw, os.path.join(raw, "data")):
        path = os.path.join(base, VAL_TXT)
        if os.path.isfile(path):
            return _read_devkit(path, flat)
    raise RawDataError(
        f"{folder!r} holds images but no class folders, and no labels file was found: expected "
        f"{VAL_CSV} or {VAL_TXT} (with meta.mat) beside it or in {raw!r}"
    )


def _read_csv(path: str) -> dict[str, str]:
    out = {}
    with open(path, newline="") as f:
        rows = csv.reader(f)
        header = next(rows, None)
        if header is None or [h.strip() for h in header[:2]] != ["ImageId", "PredictionString"]:
            raise RawDataError(f"{path!r}: expected the header 'ImageId,PredictionString'")
        for lineno, row in enumerate(rows, 2):
            if len(row) < 2 or not row[1].split():
                raise RawDataError(f"{path!r}, line {lineno}: expected 'ImageId,wnid ...'")
            out[row[0]] = row[1].split()[0]
    return out


def _read_devkit(path: str, flat: list[str]) -> dict[str, str]:
    meta = os.path.join(os.path.dirname(path), "meta.mat")
    try:
        from scipy.io import loadmat
    except ImportError:
        raise RawDataError(f"Reading {meta!r} needs scipy: pip install scipy") from None
    try:
        synsets = loadmat(meta, squeeze_me=True)["synsets"]
        id_to_wnid = {int(s["ILSVRC2012_ID"]): str(s["WNID"]) for s in synsets}
    except (OSError, KeyError, ValueError, TypeError) as err:
        raise RawDataError(f"{meta!r} is not the ImageNet devkit's meta.mat ({err})") from None
    with open(path) as f:
        ids = [line.strip() for line in f if line.strip()]
    if len(ids) != len(flat):
        raise RawDataError(f"{path!r} has {len(ids)} labels for {len(flat)} validation images")
    out = {}
    for lineno, (name, text) in enumerate(zip(flat, ids, strict=True), 1):
        if not text.isdigit() or int(text) not in id_to_wnid:
            raise RawDataError(f"{path!r}, line {lineno}: unknown ILSVRC2012_ID {text!r}")
        out[os.path.splitext(name)[0]] = id_to_wnid[int(text)]
    return out
