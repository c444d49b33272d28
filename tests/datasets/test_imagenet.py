"""ImageNet: class folders and each validation-label layout in, (image, label) out."""

from __future__ import annotations

import io

import pytest
import torch
from PIL import Image

from streaming import LocalDataset
from streaming.datasets import StreamingImageNet
from streaming.datasets.convert import RawDataError
from tests.datasets import _raw
from tests.datasets._support import run


def check(out, expected, split: str) -> None:
    ds = StreamingImageNet(local=str(out / split), batch_size=2)
    rows = LocalDataset(str(out / split))
    seen = []
    for k in range(ds.num_samples):
        x, y = ds[k]
        i = rows[k]["i"]
        name, label = expected[split][i]
        assert y == label, name
        assert tuple(x.shape) == (3, 16, 24)
        color = x.mean(dim=(1, 2)) * 255
        assert torch.allclose(color, torch.tensor(_raw.COLORS[label], dtype=torch.float32), atol=6)
        seen.append(i)
    assert sorted(seen) == list(range(len(expected[split])))


@pytest.mark.parametrize("layout", ["csv", "folders"])
def test_round_trip(tmp_path, layout) -> None:
    expected = _raw.imagenet(tmp_path / "raw", val_layout=layout)
    report = run("imagenet", tmp_path / "raw", tmp_path / "out", {"part_size": 4})
    assert {s.split: (s.samples, s.parts) for s in report.splits} == {
        "train": (6, 2),
        "val": (4, 1),
    }
    check(tmp_path / "out", expected, "train")
    check(tmp_path / "out", expected, "val")


def test_devkit_labels(tmp_path) -> None:
    import scipy  # noqa: F401  (installed by `make setup`: fail loudly without it)
    expected = _raw.imagenet(tmp_path / "raw", val_layout="devkit")
    run("imagenet", tmp_path / "raw", tmp_path / "out", splits=["val"])
    check(tmp_path / "out", expected, "val")


def test_every_image_is_a_jpeg_and_decode_none_hands_it_out(tmp_path) -> None:
    _raw.imagenet(tmp_path / "raw")
    run("imagenet", tmp_path / "raw", tmp_path / "out", splits=["train"])
    ds = StreamingImageNet(local=str(tmp_path / "out" / "train"), batch_size=2, decode="none")
    for k in range(ds.num_samples):
        data, _ = ds[k]
        assert isinstance(data, bytes)
        assert Image.open(io.BytesIO(data)).format == "JPEG"  # the PNG was re-encoded
    images, labels = torch.utils.data.default_collate([ds[k] for k in range(3)])
    assert isinstance(images, list | tuple) and all(isinstance(b, bytes) for b in images)
    assert labels.tolist() == [ds[k][1] for k in range(3)]


def test_transform_gets_rgb_pil(tmp_path) -> None:
    _raw.imagenet(tmp_path / "raw")
    run("imagenet", tmp_path / "raw", tmp_path / "out", splits=["val"])
    ds = StreamingImageNet(
        local=str(tmp_path / "out" / "val"), batch_size=1, transform=lambda im: (im.mode, im.size)
    )
    assert ds[0][0] == ("RGB", (24, 16))


def test_errors_name_the_file(tmp_path) -> None:
    _raw.imagenet(tmp_path / "raw")
    bad = tmp_path / "raw" / "train" / _raw.WNIDS[0] / "broken.JPEG"
    bad.write_bytes(b"not an image at all")
    with pytest.raises(RawDataError, match="broken.JPEG.*not an image"):
        run("imagenet", tmp_path / "raw", tmp_path / "out")
    bad.unlink()
    (tmp_path / "raw" / "LOC_val_solution.csv").unlink()
    with pytest.raises(RawDataError, match="no labels file"):
        run("imagenet", tmp_path / "raw", tmp_path / "out2")
    with pytest.raises(RawDataError, match="No ImageNet folders"):
        run("imagenet", tmp_path / "raw" / "train", tmp_path / "out3")
