"""CIFAR-10: pickle batches in, (image, label) out, pixels exact."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from streaming import LocalDataset
from streaming.datasets import StreamingCIFAR10
from streaming.datasets.convert import RawDataError
from tests.datasets import _raw
from tests.datasets._support import iterate, run


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar10")
    expected = _raw.cifar10(root / "raw")
    report = run("cifar10", root / "raw", root / "out")
    return root / "out", expected, report


def test_round_trip_exact_pixels(converted) -> None:
    out, expected, report = converted
    assert [(s.split, s.samples, s.parts) for s in report.splits] == [
        ("train", 15, 5),
        ("val", 3, 1),
    ]
    for split in ("train", "val"):
        ds = StreamingCIFAR10(local=str(out / split), batch_size=2)
        assert ds.num_samples == len(expected[split])
        for i, (pixels, label) in enumerate(expected[split]):
            x, y = ds[i]
            assert x.dtype == torch.float32 and tuple(x.shape) == (3, 32, 32)
            assert y == label
            restored = (x * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
            assert np.array_equal(restored, pixels)


def test_columns_match_the_peer(converted) -> None:
    out, expected, _ = converted
    ds = LocalDataset(str(out / "val"))
    sample = ds[0]
    assert sorted(sample) == ["x", "y"]
    assert np.array_equal(np.asarray(sample["x"]), expected["val"][0][0])


def test_transforms_and_bytes(converted) -> None:
    out, expected, _ = converted
    ds = StreamingCIFAR10(
        local=str(out / "val"), batch_size=1, transform=lambda im: im.size,
        target_transform=lambda y: y + 100,
    )  # fmt: skip
    assert ds[0] == ((32, 32), expected["val"][0][1] + 100)
    raw = StreamingCIFAR10(local=str(out / "val"), batch_size=1, decode="none", with_sample_id=True)
    data, label, sample_id = raw[2]
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and sample_id == 2
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))), expected["val"][2][0])
    assert label == expected["val"][2][1]


def test_iteration_and_loader(converted) -> None:
    out, expected, _ = converted
    ds = StreamingCIFAR10(local=str(out / "train"), batch_size=5)
    items = iterate(ds)
    assert sorted(int(y) for _, y in items) == sorted(lab for _, lab in expected["train"])
    loader = torch.utils.data.DataLoader(ds, batch_size=5)
    x, y = next(iter(loader))
    assert tuple(x.shape) == (5, 3, 32, 32) and y.dtype == torch.int64


def test_pil_encoding_like_the_peer(tmp_path) -> None:
    expected = _raw.cifar10(tmp_path / "raw", per_batch=1)
    run("cifar10", tmp_path / "raw", tmp_path / "out", {"encoding": "pil"}, splits=["val"])
    ds = StreamingCIFAR10(local=str(tmp_path / "out" / "val"), batch_size=1)
    restored = (ds[0][0] * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    assert np.array_equal(restored, expected["val"][0][0])
    with pytest.raises(ValueError, match="stored as 'pil'"):
        StreamingCIFAR10(local=str(tmp_path / "out" / "val"), batch_size=1, decode="none")[0]


def test_bad_batches_name_the_file(tmp_path) -> None:
    _raw.cifar10(tmp_path / "raw", per_batch=2)
    batch = tmp_path / "raw" / "cifar-10-batches-py" / "data_batch_3"
    obj = pickle.loads(batch.read_bytes())
    obj[b"labels"] = [1, 12]
    batch.write_bytes(pickle.dumps(obj))
    with pytest.raises(RawDataError, match=r"data_batch_3.*label 1 is 12"):
        run("cifar10", tmp_path / "raw", tmp_path / "out")
    (tmp_path / "raw" / "cifar-10-batches-py" / "test_batch").unlink()
    with pytest.raises(RawDataError, match="test_batch"):
        run("cifar10", tmp_path / "raw", tmp_path / "out2")
