"""LAION (img2dataset shards) and WebVid (CSV plus videos): pairs in, (media, caption) out."""

from __future__ import annotations

import csv

import pytest
import torch

from streaming import LocalDataset
from streaming.datasets import StreamingLAION, StreamingWebVid
from streaming.datasets.convert import RawDataError
from tests.datasets import _raw
from tests.datasets._support import run


def test_laion_tar_and_folder_shards(tmp_path) -> None:
    expected = _raw.laion(tmp_path / "raw")
    report = run("laion", tmp_path / "raw", tmp_path / "out")
    assert [(s.split, s.samples, s.parts) for s in report.splits] == [("train", 3, 2)]
    rows = list(LocalDataset(str(tmp_path / "out" / "train")))
    for row, want in zip(rows, expected, strict=True):
        assert row["caption"] == want["caption"] and row["key"] == want["key"]
        assert row["nsfw"] == "UNLIKELY" and row["license"] == "?"
        assert row["similarity"] == pytest.approx(want["similarity"])
        assert (row["width"], row["original_height"]) == (24, 32)
        assert row["error_message"] == ""
    ds = StreamingLAION(local=str(tmp_path / "out" / "train"), batch_size=1)
    for k, want in enumerate(expected):
        image, caption = ds[k]
        assert caption == want["caption"] and tuple(image.shape) == (3, 16, 24)
        color = image.mean(dim=(1, 2)) * 255
        assert torch.allclose(color, torch.tensor(want["color"], dtype=torch.float32), atol=6)
    tokens = StreamingLAION(
        local=str(tmp_path / "out" / "train"), batch_size=1, tokenizer_name="bytes",
        max_caption_len=8, decode="none",
    )  # fmt: skip
    data, ids = tokens[0]
    assert data[:2] == b"\xff\xd8" and ids.tolist() == [b + 3 for b in b"a red sq"]


def test_laion_parquet_shards(tmp_path) -> None:
    import pyarrow  # noqa: F401  (installed by `make setup`: fail loudly without it)
    expected = _raw.laion_parquet(tmp_path / "raw")
    run("laion", tmp_path / "raw", tmp_path / "out")
    rows = list(LocalDataset(str(tmp_path / "out" / "train")))
    assert [r["caption"] for r in rows] == [e["caption"] for e in expected]
    assert rows[0]["jpg"].size == (24, 16)


def test_laion_bad_metadata_is_named(tmp_path) -> None:
    _raw.laion(tmp_path / "raw")
    _raw.write(tmp_path / "raw" / "00001" / "000010000.json", "{not json")
    with pytest.raises(RawDataError, match="000010000.json.*not valid JSON"):
        run("laion", tmp_path / "raw", tmp_path / "out")


def test_webvid_bytes(tmp_path) -> None:
    expected = _raw.webvid(tmp_path / "raw")
    report = run("webvid", tmp_path / "raw", tmp_path / "out", {"part_size": 2})
    train = next(s for s in report.splits if s.split == "train")
    assert (train.samples, train.skipped, train.parts) == (3, 1, 2)
    rows = list(LocalDataset(str(tmp_path / "out" / "train")))
    assert [r["videoid"] for r in rows] == ["1001", "1002", "1004"]
    assert [r["duration"] for r in rows] == [12, 65, 3600]
    assert rows[1]["name"] == 'A "quoted"\nsecond line'
    ds = StreamingWebVid(local=str(tmp_path / "out" / "train"), batch_size=1, decode="none")
    for k, want in enumerate(expected):
        assert ds[k] == (want["content"], want["name"])


def test_webvid_frames(tmp_path) -> None:
    import av  # noqa: F401  (installed by `make setup`: fail loudly without it)
    _raw.webvid(tmp_path / "raw", video=_raw.tiny_video())
    run("webvid", tmp_path / "raw", tmp_path / "out", splits=["val"])
    ds = StreamingWebVid(local=str(tmp_path / "out" / "val"), batch_size=1, num_frames=3)
    frames, caption = ds[0]
    assert caption == "val clip"
    assert frames.dtype == torch.uint8 and tuple(frames.shape) == (3, 3, 24, 32)
    levels = frames.float().mean(dim=(1, 2, 3)).tolist()
    assert levels[0] < levels[1] < levels[2]  # first, middle and last frames
    assert abs(levels[0] - 0) < 12 and abs(levels[2] - 200) < 12


def test_webvid_errors(tmp_path) -> None:
    _raw.webvid(tmp_path / "raw")
    with pytest.raises(RawDataError, match=r"row 3: no video file for videoid '1003'"):
        run("webvid", tmp_path / "raw", tmp_path / "out", {"strict": True})
    path = tmp_path / "raw" / "results_2M_val.csv"
    with open(path, "a", newline="") as f:
        csv.writer(f).writerow(["2002", "u", "12 seconds", "001_050", "x"])
    _raw.write(tmp_path / "raw" / "videos" / "001_050" / "2002.mp4", b"v")
    with pytest.raises(RawDataError, match=r"results_2M_val.csv', row 2: duration '12 seconds'"):
        run("webvid", tmp_path / "raw", tmp_path / "out2")
