"""ADE20K: images and annotation PNGs in, (image, class map) out, maps exact."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from streaming.datasets import StreamingADE20K
from streaming.datasets.convert import RawDataError
from tests.datasets import _raw
from tests.datasets._support import run


def test_round_trip_exact_maps(tmp_path) -> None:
    expected = _raw.ade20k(tmp_path / "raw")
    report = run("ade20k", tmp_path / "raw", tmp_path / "out", {"part_size": 2})
    assert {s.split: (s.samples, s.parts) for s in report.splits} == {
        "train": (3, 2),
        "val": (2, 1),
    }
    for split in ("train", "val"):
        ds = StreamingADE20K(local=str(tmp_path / "out" / split), batch_size=1)
        for k, (uid, labels) in enumerate(expected[split]):
            x, y = ds[k]
            assert tuple(x.shape) == (3, 12, 20) and x.dtype == torch.float32
            assert y.dtype == torch.int64 and np.array_equal(y.numpy(), labels), uid


def test_joint_transform_and_bytes(tmp_path) -> None:
    expected = _raw.ade20k(tmp_path / "raw")
    run("ade20k", tmp_path / "raw", tmp_path / "out", splits=["val"])
    flip = StreamingADE20K(
        local=str(tmp_path / "out" / "val"), batch_size=1,
        joint_transform=lambda pair: tuple(im.transpose(Image.FLIP_LEFT_RIGHT) for im in pair),
    )  # fmt: skip
    _, y = flip[1]
    assert np.array_equal(y.numpy(), expected["val"][1][1][:, ::-1])
    raw = StreamingADE20K(local=str(tmp_path / "out" / "val"), batch_size=1, decode="none")
    image, label = raw[0]
    assert image[:2] == b"\xff\xd8"
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(label))), expected["val"][0][1])


def test_missing_annotation_is_named(tmp_path) -> None:
    _raw.ade20k(tmp_path / "raw")
    missing = tmp_path / "raw/ADEChallengeData2016/annotations/training/ADE_train_00000002.png"
    missing.unlink()
    with pytest.raises(RawDataError, match="ADE_train_00000002.jpg.*no annotation"):
        run("ade20k", tmp_path / "raw", tmp_path / "out")
