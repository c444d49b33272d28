"""The conversion runner: parts, resumption, interruption, settings, workers, remote output."""

from __future__ import annotations

import itertools
import pickle
import shutil

import pytest

from streaming import LocalDataset, MDSWriter
from streaming.datasets.convert import (
    ConversionError,
    ConversionInterrupted,
    RawDataError,
    convert,
)
from streaming.datasets.convert.cifar10 import CIFAR10Converter
from tests.datasets import _raw
from tests.datasets._support import run


class StopAt(CIFAR10Converter):
    """CIFAR-10, but Ctrl-C arrives after one sample of train part `stop_at`."""

    def __init__(self, stop_at: int) -> None:
        super().__init__()
        self.stop_at = stop_at

    def read_part(self, part):
        if part.split == "train" and part.index == self.stop_at:
            yield from itertools.islice(super().read_part(part), 1)
            raise KeyboardInterrupt
        yield from super().read_part(part)


def labels(path) -> list[int]:
    return [s["y"] for s in LocalDataset(str(path))]


def test_layout_is_parts_merged(tmp_path) -> None:
    _raw.cifar10(tmp_path / "raw", per_batch=2)
    run("cifar10", tmp_path / "raw", tmp_path / "out")
    files = _raw.tree(tmp_path / "out")
    assert "train/index.json" in files and "train/part-00004/index.json" in files
    assert "train/part-00000/shard.00000.mds" in files
    assert not [f for f in files if ".tmp" in f]


def test_interrupted_run_says_where_and_continues(tmp_path) -> None:
    expected = _raw.cifar10(tmp_path / "raw", per_batch=2)
    out = tmp_path / "out"
    with pytest.raises(ConversionInterrupted) as info:
        convert(StopAt(2), str(tmp_path / "raw"), str(out), hashes=["xxh64"], workers=1)
    message = str(info.value)
    assert "train: 2 of 5 parts done" in message and "val: 0 of 1 parts done" in message
    assert "Stopped at train/part-00002 (data_batch_3)" in message
    assert "Run the same command again" in message
    assert not (out / "train" / "index.json").exists()  # nothing half-done is published
    assert not (out / "train" / "part-00002").exists()
    report = run("cifar10", tmp_path / "raw", out)
    train = report.splits[0]
    assert (train.resumed, train.samples) == (2, 10)
    assert labels(out / "train") == [label for _, label in expected["train"]]
    assert not [f for f in _raw.tree(out) if ".tmp" in f]


def test_rerun_keeps_finished_parts_and_checks_settings(tmp_path) -> None:
    _raw.cifar10(tmp_path / "raw", per_batch=2)
    out = tmp_path / "out"
    run("cifar10", tmp_path / "raw", out)
    again = run("cifar10", tmp_path / "raw", out)
    assert [s.resumed for s in again.splits] == [5, 1]
    shutil.rmtree(out / "train" / "part-00001")
    with pytest.raises(ConversionError, match=r"part-00000' was written with compression None"):
        run("cifar10", tmp_path / "raw", out, compression="zstd")
    with pytest.raises(ConversionError, match="columns"):
        run("cifar10", tmp_path / "raw", out, {"encoding": "pil"})
    report = run("cifar10", tmp_path / "raw", out, compression="zstd", overwrite=True)
    assert [s.resumed for s in report.splits] == [0, 0]
    assert report.splits[0].stored_bytes != report.splits[0].raw_bytes  # zstd files


def test_refuses_a_foreign_dataset(tmp_path) -> None:
    _raw.cifar10(tmp_path / "raw", per_batch=1)
    with MDSWriter(out=str(tmp_path / "out" / "train"), columns={"a": "int"}) as w:
        w.write({"a": 1})
    with pytest.raises(ConversionError, match="not written by `streaming convert`"):
        run("cifar10", tmp_path / "raw", tmp_path / "out")
    report = run("cifar10", tmp_path / "raw", tmp_path / "out", overwrite=True)
    assert report.splits[0].samples == 5
    assert not (tmp_path / "out" / "train" / "shard.00000.mds").exists()


def test_parallel_workers_write_the_same_dataset(tmp_path) -> None:
    _raw.cifar10(tmp_path / "raw", per_batch=2)
    run("cifar10", tmp_path / "raw", tmp_path / "one", workers=1)
    run("cifar10", tmp_path / "raw", tmp_path / "two", workers=2)
    for split in ("train", "val"):
        one = (tmp_path / "one" / split / "index.json").read_bytes()
        assert one == (tmp_path / "two" / split / "index.json").read_bytes()
    assert _raw.tree(tmp_path / "one") == _raw.tree(tmp_path / "two")


def test_parallel_worker_errors_reach_the_caller(tmp_path) -> None:
    _raw.cifar10(tmp_path / "raw", per_batch=1)
    batch = tmp_path / "raw" / "cifar-10-batches-py" / "data_batch_4"
    batch.write_bytes(pickle.dumps({b"data": b"nope", b"labels": [1]}))
    with pytest.raises(RawDataError, match="data_batch_4.*N x 3072"):
        run("cifar10", tmp_path / "raw", tmp_path / "out", workers=2)


def test_remote_output_and_resume(tmp_path, fake_store) -> None:
    expected = _raw.cifar10(tmp_path / "raw", per_batch=2)
    url = "fake://bucket/cifar"
    report = run("cifar10", tmp_path / "raw", url, work_dir=str(tmp_path / "work"))
    assert report.splits[0].url == f"{url}/train" and report.splits[0].samples == 10
    remote = fake_store / "bucket" / "cifar"
    assert labels(remote / "train") == [label for _, label in expected["train"]]
    assert not list((tmp_path / "work").rglob("*.mds"))  # staging is cleaned
    (remote / "train" / "part-00003" / "index.json").unlink()
    again = run("cifar10", tmp_path / "raw", url)
    assert [s.resumed for s in again.splits] == [4, 1]
    assert labels(remote / "train") == [label for _, label in expected["train"]]


def test_missing_raw_directory(tmp_path) -> None:
    with pytest.raises(RawDataError, match="does not exist"):
        run("cifar10", tmp_path / "nope", tmp_path / "out")
