"""``streaming convert --engine spark``: the same dataset as the local engine, for the datasets
whose raw data is a table (C4, the Pile, LAION parquet)."""

from __future__ import annotations

from pathlib import Path

import pytest

from streaming import StreamingDataset
from streaming.cli.main import main
from streaming.datasets.convert import get_converter
from streaming.datasets.convert.spark_engine import convert_on_spark
from tests.datasets import _raw
from tests.datasets._support import run


def samples(root: Path) -> list[dict]:
    ds = StreamingDataset(local=str(root), batch_size=1)
    return [ds[i] for i in range(ds.size)]


def comparable(sample: dict) -> dict:
    return {k: (v.tobytes() if hasattr(v, "tobytes") else v) for k, v in sample.items()}


@pytest.mark.parametrize(
    ("name", "make", "splits"),
    [("c4", _raw.c4, ["train", "val"]), ("pile", _raw.pile, ["train", "val", "test"]),
     ("laion", _raw.laion_parquet, None)],
)  # fmt: skip
def test_spark_engine_writes_what_the_local_engine_writes(
    spark, tmp_path: Path, name: str, make, splits: list[str] | None
) -> None:
    make(tmp_path / "raw")
    run(name, tmp_path / "raw", tmp_path / "local")
    results = convert_on_spark(
        get_converter(name), str(tmp_path / "raw"), str(tmp_path / "spark"), hashes=["xxh64"],
        spark=spark,
    )  # fmt: skip
    found = sorted(p.name for p in (tmp_path / "local").iterdir() if p.is_dir())
    assert sorted(split for split, _ in results) == found == sorted(splits or found)
    for split in found:
        local = [comparable(s) for s in samples(tmp_path / "local" / split)]
        assert [comparable(s) for s in samples(tmp_path / "spark" / split)] == local
        assert local


def test_cli_engine_spark(spark, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _raw.c4(tmp_path / "raw")
    code = main(["convert", "c4", "--in", str(tmp_path / "raw"), "--out",
                 str(tmp_path / "out"), "--engine", "spark"])  # fmt: skip
    assert code == 0
    assert "train: " in capsys.readouterr().out
    assert len(samples(tmp_path / "out" / "train")) > 0
