"""COCO: instances JSON and images in, (image, id, size, boxes, labels) out."""

from __future__ import annotations

import json

import numpy as np
import pytest

from streaming import LocalDataset
from streaming.datasets import StreamingCOCO
from streaming.datasets.convert import RawDataError
from tests.datasets import _raw
from tests.datasets._support import run


def test_round_trip(tmp_path) -> None:
    expected = _raw.coco(tmp_path / "raw")
    report = run("coco", tmp_path / "raw", tmp_path / "out")
    assert [(s.split, s.samples) for s in report.splits] == [("val", 2)]  # one had no boxes
    ds = StreamingCOCO(local=str(tmp_path / "out" / "val"), batch_size=1)
    for k, want in enumerate(expected):
        img, img_id, size, boxes, labels = ds[k]
        assert img_id == want["img_id"] and size == want["size"]
        assert tuple(img.shape) == (3, *want["size"])
        assert np.allclose(boxes.numpy(), want["boxes"]) and boxes.dtype.is_floating_point
        assert labels.tolist() == want["labels"]
    columns = LocalDataset(str(tmp_path / "out" / "val"))[0]
    assert sorted(columns) == ["bbox_labels", "bbox_sizes", "htot", "img", "img_id", "wtot"]


def test_transform_and_bytes(tmp_path) -> None:
    _raw.coco(tmp_path / "raw")
    run("coco", tmp_path / "raw", tmp_path / "out")

    def halve(img, size, boxes, labels):
        return img.size, (size[0] // 2, size[1] // 2), boxes * 2, labels + 1

    ds = StreamingCOCO(local=str(tmp_path / "out" / "val"), batch_size=1, transform=halve)
    img, _, size, boxes, labels = ds[1]
    assert img == (10, 30) and size == (15, 5) and labels.tolist() == [2]
    raw = StreamingCOCO(local=str(tmp_path / "out" / "val"), batch_size=1, decode="none")
    assert raw[0][0][:2] == b"\xff\xd8" and raw[0][1] == 139


def test_bad_annotations_are_named(tmp_path) -> None:
    _raw.coco(tmp_path / "raw")
    path = tmp_path / "raw" / "annotations" / "instances_val2017.json"
    obj = json.loads(path.read_text())
    obj["annotations"].append({"id": 9, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]})
    path.write_text(json.dumps(obj))
    with pytest.raises(RawDataError, match=r"instances_val2017.json.*annotation 3 \(id 9\)"):
        run("coco", tmp_path / "raw", tmp_path / "out")
    obj["annotations"].pop()
    path.write_text(json.dumps(obj))
    (tmp_path / "raw" / "val2017" / "000000000285.jpg").unlink()
    with pytest.raises(RawDataError, match="000000000285.jpg"):
        run("coco", tmp_path / "raw", tmp_path / "out2")
