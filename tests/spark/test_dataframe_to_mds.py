"""`dataframe_to_mds` on a local Spark: types, overrides, UDFs, errors, resumption."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from streaming import StreamingDataset
from streaming.spark import SparkSchemaError, dataframe_to_mds, infer_columns

REPO = str(Path(__file__).resolve().parents[2])


def read_all(path: Path) -> list[dict]:
    ds = StreamingDataset(local=str(path), batch_size=1)
    return [ds[i] for i in range(ds.size)]


def test_types_are_inferred_and_read_back_exactly(spark, tmp_path: Path) -> None:
    from pyspark.sql import types as t

    schema = t.StructType(
        [
            t.StructField("b", t.ByteType()),
            t.StructField("s", t.ShortType()),
            t.StructField("i", t.IntegerType()),
            t.StructField("l", t.LongType()),
            t.StructField("f", t.FloatType()),
            t.StructField("d", t.DoubleType()),
            t.StructField("dec", t.DecimalType(10, 3)),
            t.StructField("text", t.StringType()),
            t.StructField("raw", t.BinaryType()),
            t.StructField("ints", t.ArrayType(t.IntegerType())),
            t.StructField("floats", t.ArrayType(t.DoubleType())),
        ]
    )
    rows = [
        (
            i - 5, i * 300, i * 70000, i * 2**40, i / 4, i / 3, Decimal(f"{i}.125"),
            f"text {i} é", bytes([i]) * i, list(range(i + 1)), [i / 7] * 3,
        )
        for i in range(10)
    ]
    df = spark.createDataFrame(rows, schema).repartition(3)
    assert infer_columns(df.schema) == {
        "b": "int8", "s": "int16", "i": "int32", "l": "int64", "f": "float32", "d": "float64",
        "dec": "str_decimal", "text": "str", "raw": "bytes", "ints": "ndarray:int32",
        "floats": "ndarray:float64",
    }
    summary = dataframe_to_mds(df, str(tmp_path / "out"), hashes=["xxh64"])
    assert (summary.partitions, summary.written, summary.samples) == (3, 3, 10)
    got = sorted(read_all(tmp_path / "out"), key=lambda s: int(s["i"]))
    for i, sample in enumerate(got):
        assert (int(sample["b"]), int(sample["s"]), int(sample["i"]), int(sample["l"])) == (
            i - 5, i * 300, i * 70000, i * 2**40
        )
        assert float(sample["f"]) == i / 4 and float(sample["d"]) == i / 3
        assert sample["dec"] == Decimal(f"{i}.125")
        assert sample["text"] == f"text {i} é" and sample["raw"] == bytes([i]) * i
        assert sample["ints"].dtype == np.int32 and sample["ints"].tolist() == list(range(i + 1))
        assert sample["floats"].tolist() == [i / 7] * 3


@pytest.mark.parametrize(
    ("spark_type", "hint"),
    [("boolean", "cast it to a number"), ("date", "days since"), ("timestamp", "to a long")],
)
def test_unsupported_types_are_refused_by_name(spark, spark_type: str, hint: str) -> None:
    df = spark.sql(f"SELECT 1 AS id, CAST(NULL AS {spark_type}) AS flag")
    message = rf"Column 'flag' has Spark type {spark_type}.*{hint}"
    with pytest.raises(SparkSchemaError, match=message):
        infer_columns(df.schema)
    assert infer_columns(df.schema, {"flag": "json"})["flag"] == "json"
    with pytest.raises(SparkSchemaError, match="'nope', which is not a column"):
        infer_columns(df.schema, {"nope": "int"})
    with pytest.raises(SparkSchemaError, match="unknown MDS encoding 'int33'"):
        infer_columns(df.schema, {"id": "int33"})


def test_binary_column_as_jpeg_override(spark, tmp_path: Path) -> None:
    images = []
    for i in range(6):
        buf = io.BytesIO()
        Image.new("RGB", (8 + i, 8), (i * 40, 0, 0)).save(buf, format="JPEG")
        images.append((i, buf.getvalue()))
    df = spark.createDataFrame(images, "id long, image binary").repartition(2)
    dataframe_to_mds(df, str(tmp_path / "out"), columns={"image": "jpeg"})
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert index["shards"][0]["column_encodings"] == ["int64", "jpeg"]
    for sample in read_all(tmp_path / "out"):
        i = int(sample["id"])
        assert isinstance(sample["image"], Image.Image) and sample["image"].size == (8 + i, 8)


def test_udf_turns_rows_into_samples(spark, tmp_path: Path) -> None:
    df = spark.createDataFrame([(i, f"w{i} x y") for i in range(20)], "id long, text string")

    def words(rows):
        for row in rows:
            for word in row["text"].split():
                yield {"id": row["id"], "word": word, "len": [len(word)]}

    with pytest.raises(SparkSchemaError, match="with a `udf`, `columns` must give"):
        dataframe_to_mds(df, str(tmp_path / "bad"), udf=words)
    summary = dataframe_to_mds(
        df.repartition(2), str(tmp_path / "out"), udf=words,
        columns={"id": "int64", "word": "str", "len": "ndarray:int32"},
    )
    assert summary.samples == 60
    got = sorted((int(s["id"]), s["word"], s["len"].tolist()) for s in read_all(tmp_path / "out"))
    assert got == sorted(
        (i, w, [len(w)]) for i in range(20) for w in f"w{i} x y".split()
    )


def test_a_bad_value_names_the_partition(spark, tmp_path: Path) -> None:
    df = spark.createDataFrame([(1, "a"), (2, None)], "id long, text string").coalesce(1)
    with pytest.raises(Exception, match=r"Spark partition 0 \(part-00000\).*text"):
        dataframe_to_mds(df, str(tmp_path / "out"))
    assert not (tmp_path / "out" / "index.json").exists()


JOB = """
import os, sys, time
sys.path.insert(0, {repo!r})
from tests.spark.conftest import spark_session
from streaming.spark import dataframe_to_mds
spark = spark_session("killed-job")
df = spark.range(0, 4000, numPartitions=4).selectExpr("id", "repeat('x', 50) AS text")

def slow_in_part_2(rows):
    for row in rows:
        yield row
        if row["id"] == 2500:  # partition 2, some shards already written
            open({marker!r}, "w").close()
            time.sleep(600)

dataframe_to_mds(df, {out!r}, hashes=["xxh64"], size_limit=2000, udf=slow_in_part_2,
                 columns={{"id": "int64", "text": "str"}})
"""


@pytest.mark.slow
def test_resumes_after_a_killed_job(spark, tmp_path: Path) -> None:
    out, marker = tmp_path / "out", tmp_path / "marker"
    script = JOB.format(repo=REPO, marker=str(marker), out=str(out))
    job = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)], start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 300
    while not marker.exists() and time.monotonic() < deadline and job.poll() is None:
        time.sleep(0.2)
    assert marker.exists(), job.stderr.read().decode()[-3000:] if job.poll() is not None else ""
    while not (out / "part-00000" / "index.json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(job.pid, signal.SIGKILL)  # the driver, its JVM and the Python workers
    job.wait()
    assert not (out / "index.json").exists()
    assert not (out / "part-00002" / "index.json").exists()  # partial: shards, no index
    assert any(n.endswith(".mds") for n in os.listdir(out / "part-00002"))
    # Corrupt one finished partition: it must be written again too.
    shard = out / "part-00000" / "shard.00000.mds"
    shard.write_bytes(shard.read_bytes()[:-1] + b"?")
    # (A Python worker outside the killed process group may still finish part 3 meanwhile: so
    # the counts below are bounds, and the files tell which parts were written again.)
    indexes = {p: out / p / "index.json" for p in ("part-00000", "part-00001")}
    before = {p: i.stat().st_mtime_ns for p, i in indexes.items() if i.exists()}
    df = spark.range(0, 4000, numPartitions=4).selectExpr("id", "repeat('x', 50) AS text")
    summary = dataframe_to_mds(df, str(out), hashes=["xxh64"], size_limit=2000)
    assert summary.skipped >= 1 and summary.written >= 2  # part 0 (corrupt) and 2 (partial)
    assert summary.written + summary.skipped == 4 and summary.samples == 4000
    assert (out / "part-00000" / "index.json").stat().st_mtime_ns != before["part-00000"]
    if "part-00001" in before:  # finished and intact before the kill: kept as it was
        assert (out / "part-00001" / "index.json").stat().st_mtime_ns == before["part-00001"]
    ids = sorted(int(s["id"]) for s in read_all(out))
    assert ids == list(range(4000))


def test_remote_out_uploads_from_the_executors(spark, spark_moto, tmp_path: Path) -> None:
    from tests.storage.s3.server import aws_environment, new_bucket

    bucket = new_bucket(spark_moto.endpoint, "spark")
    df = spark.range(0, 600, numPartitions=3).selectExpr("id", "concat('row ', id) AS text")
    with aws_environment(spark_moto.endpoint):
        summary = dataframe_to_mds(
            df, f"s3://{bucket}/ds", compression="zstd", hashes=["xxh64"], size_limit=4096
        )
        assert (summary.written, summary.samples) == (3, 600)
        ds = StreamingDataset(
            remote=f"s3://{bucket}/ds", local=str(tmp_path / "cache"), batch_size=4
        )
        assert sorted((int(s["id"]), s["text"]) for s in ds) == [
            (i, f"row {i}") for i in range(600)
        ]
        again = dataframe_to_mds(df, f"s3://{bucket}/ds", compression="zstd", hashes=["xxh64"],
                                 size_limit=4096)  # fmt: skip
        assert (again.skipped, again.samples) == (3, 600)  # checked remotely, not rewritten
    assert not any(p.name.startswith("part-") for p in tmp_path.iterdir())  # nothing local left
