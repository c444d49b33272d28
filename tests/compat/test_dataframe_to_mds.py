"""`dataframe_to_mds` in mosaicml-streaming's call form, on a local Spark (``local[2]``).

The peer's venv has no pyspark, so the peer's documented behaviour is the reference: it returns
``(local, remote)`` (``remote`` ``''`` for a local `out`), compresses with ``zstd`` unless told
otherwise, infers ``columns`` when they are not given, writes only the given ``columns``, calls
``udf_iterable(pandas_df, **udf_kwargs)`` per Arrow batch, and skips the top-level index with
``merge_index=False``. The peer's own reader then reads what we wrote.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streaming.format.mds.reader import MDSShard
from tests.peers.runner import run_peer
from tests.spark.conftest import spark_session

pytestmark = pytest.mark.slow  # a Spark JVM


@pytest.fixture(scope="module")
def moto_server() -> Iterator[Any]:
    from tests.storage.s3.server import start_moto

    server = start_moto()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def spark(moto_server: Any) -> Iterator[Any]:
    from tests.storage.s3.server import AWS_ENV, aws_environment

    env = {**AWS_ENV, "AWS_ENDPOINT_URL": moto_server.endpoint}
    with aws_environment(moto_server.endpoint):  # the JVM, if this session launches it
        session = spark_session("streaming-compat-tests", env=env)  # and the executors
    yield session
    session.stop()


ROWS = [(i, f"text {i}", bytes([i]) * (i % 4), [i, i + 1]) for i in range(30)]
SCHEMA = "id long, text string, raw binary, pair array<int>"


def _df(spark: Any, partitions: int = 3) -> Any:
    return spark.createDataFrame(ROWS, SCHEMA).repartition(partitions)


def _read(path: Path) -> list[dict]:
    from streaming.base import StreamingDataset

    ds = StreamingDataset(local=str(path), batch_size=1)
    return sorted((ds[i] for i in range(ds.size)), key=lambda s: int(s["id"]))


def _index(path: Path) -> dict:
    return json.loads((path / "index.json").read_text())


def test_peer_form_infers_columns_and_compresses_with_zstd(
    spark: Any, tmp_path: Path, mosaic_python: Path
) -> None:
    from streaming.base.converters import dataframe_to_mds

    out = tmp_path / "out"
    result = dataframe_to_mds(_df(spark), merge_index=True, mds_kwargs={"out": str(out)})
    assert result == (str(out), "")
    shards = _index(out)["shards"]
    assert len(shards) == 3
    assert {s["compression"] for s in shards} == {"zstd"}
    assert {tuple(s["column_encodings"]) for s in shards} == {
        ("int64", "ndarray:int32", "bytes", "str")
    }
    got = _read(out)
    assert [int(s["id"]) for s in got] == list(range(30))
    for i, s in enumerate(got):
        assert (s["text"], s["raw"], s["pair"].tolist()) == (f"text {i}", bytes([i]) * (i % 4),
                                                              [i, i + 1])  # fmt: skip

    # mosaicml-streaming's own reader reads it, sample for sample.
    script = r"""
import json, sys
from streaming.base import StreamingDataset
ds = StreamingDataset(local=sys.argv[1], batch_size=1)
print(json.dumps(sorted([int(s["id"]), s["text"], s["raw"].hex(), s["pair"].tolist()]
                        for s in (ds[i] for i in range(ds.size)))))
"""
    theirs = json.loads(run_peer(mosaic_python, script, str(out)))
    assert theirs == [[i, f"text {i}", (bytes([i]) * (i % 4)).hex(), [i, i + 1]]
                      for i in range(30)]  # fmt: skip


def test_peer_form_writes_only_the_given_columns(spark: Any, tmp_path: Path) -> None:
    from streaming.spark import dataframe_to_mds

    out = tmp_path / "out"
    kwargs = {"out": str(out), "columns": {"id": "int64", "text": "str"}, "compression": None,
              "hashes": ["xxh64"], "size_limit": 1 << 20}  # fmt: skip
    assert dataframe_to_mds(_df(spark, 2), mds_kwargs=kwargs) == (str(out), "")
    shards = _index(out)["shards"]
    assert {(s["compression"], tuple(s["column_names"])) for s in shards} == {
        (None, ("id", "text"))
    }
    assert all(s["raw_data"]["hashes"].keys() == {"xxh64"} for s in shards)
    assert [(int(s["id"]), s["text"]) for s in _read(out)] == [(i, f"text {i}") for i in range(30)]


def test_peer_form_udf_iterable_gets_pandas_batches(spark: Any, tmp_path: Path) -> None:
    from streaming.base.converters import dataframe_to_mds

    def explode(pdf: Any, suffix: str) -> Iterator[dict]:
        import pandas as pd

        if not isinstance(pdf, pd.DataFrame):  # fails the partition, and so the test
            raise TypeError(f"udf_iterable got a {type(pdf)}, not a pandas DataFrame")
        for row in pdf.to_dict("records"):
            for k in range(2):
                yield {"id": row["id"] * 2 + k, "word": f"{row['text']}{suffix}{k}"}

    out = tmp_path / "out"
    result = dataframe_to_mds(
        _df(spark, 2),
        mds_kwargs={"out": str(out), "columns": {"id": "int64", "word": "str"}},
        udf_iterable=explode,
        udf_kwargs={"suffix": "-"},
    )
    assert result == (str(out), "")
    got = [(int(s["id"]), s["word"]) for s in _read(out)]
    assert got == [(i * 2 + k, f"text {i}-{k}") for i in range(30) for k in range(2)]


class Reversed:
    """A custom encoding (the peer's duck-typed shape): a str stored reversed."""

    size = None

    def encode(self, obj: str) -> bytes:
        return obj[::-1].encode("utf-8")

    def decode(self, data: bytes) -> str:
        return data.decode("utf-8")[::-1]


def test_custom_encoding_registered_on_the_driver_reaches_the_executors(
    spark: Any, tmp_path: Path
) -> None:
    from streaming.base.converters import dataframe_to_mds
    from streaming.base.format.mds.encodings import _encodings

    _encodings["reversed_h4a"] = Reversed  # the peer's route, on the driver only
    try:
        out = tmp_path / "out"
        kwargs = {"out": str(out), "columns": {"id": "int64", "text": "reversed_h4a"}}
        dataframe_to_mds(_df(spark, 2), mds_kwargs=kwargs)
        got = [(int(s["id"]), s["text"]) for s in _read(out)]
        assert got == [(i, f"text {i}") for i in range(30)]
        # The stored bytes are the reversed text.
        entry = _index(out)["shards"][0]
        shard = MDSShard(str(out), entry, 0)
        first = bytes(shard.get_sample_data(0))
        assert f"text {int(shard.get_item(0)['id'])}"[::-1].encode() in first
    finally:
        _encodings.pop("reversed_h4a", None)


def test_peer_form_without_merge_leaves_only_partition_indexes(
    spark: Any, tmp_path: Path
) -> None:
    from streaming.base.converters import dataframe_to_mds

    out = tmp_path / "out"
    dataframe_to_mds(_df(spark, 2), merge_index=False, mds_kwargs={"out": str(out)})
    assert not (out / "index.json").exists()
    parts = sorted(p.name for p in out.iterdir())
    assert parts == ["part-00000", "part-00001"]
    total = sum(s["samples"] for p in parts for s in _index(out / p)["shards"])
    assert total == 30


def test_peer_form_local_remote_pair(spark: Any, tmp_path: Path) -> None:
    """``out=(local, remote)``: uploaded to the remote; the local staging is removed unless
    ``keep_local`` (the remote here is a second local directory, as the peer's LocalUploader)."""
    from streaming.base.converters import dataframe_to_mds

    local, remote = tmp_path / "staging", tmp_path / "remote"
    result = dataframe_to_mds(_df(spark, 2), mds_kwargs={"out": (str(local), str(remote))})
    assert result == (str(local), str(remote))
    assert not local.exists()
    assert [int(s["id"]) for s in _read(remote)] == list(range(30))


def test_peer_form_remote_url(spark: Any, moto_server: Any, tmp_path: Path) -> None:
    """A remote `out`: staged in a temporary local directory that is returned and then removed
    (``keep_local`` false), uploaded from the executors, merged index on the remote."""
    from streaming.base import StreamingDataset
    from streaming.base.converters import dataframe_to_mds
    from tests.storage.s3.server import aws_environment, new_bucket

    bucket = new_bucket(moto_server.endpoint, "compat")
    with aws_environment(moto_server.endpoint):
        local, remote = dataframe_to_mds(
            _df(spark, 2), mds_kwargs={"out": f"s3://{bucket}/ds", "hashes": ["xxh64"]}
        )
        assert remote == f"s3://{bucket}/ds"
        assert local and not Path(local).exists()
        ds = StreamingDataset(remote=remote, local=str(tmp_path / "cache"), batch_size=1)
        assert sorted(int(s["id"]) for s in ds) == list(range(30))


@pytest.mark.parametrize(
    ("mds_kwargs", "udf", "empty", "message"),
    [
        ({"columns": {"id": "int64"}}, None, False, "`out` and `columns` need to be specified"),
        ({"out": "X"}, None, True, "the input DataFrame is None or empty"),
        ({"out": "X"}, lambda pdf: [], False, "with `udf_iterable`, mds_kwargs must give"),
        ({"out": "X", "columns": {"nope": "int"}}, None, False, "'nope', which is not a column"),
        ({"out": "X", "colums": {}}, None, False, "unknown MDSWriter argument"),
    ],
)
def test_peer_form_errors(
    spark: Any, tmp_path: Path, mds_kwargs: dict, udf: Any, empty: bool, message: str
) -> None:
    from streaming.base.converters import dataframe_to_mds

    kwargs = {k: (str(tmp_path / "o") if v == "X" else v) for k, v in mds_kwargs.items()}
    df = _df(spark, 1).limit(0) if empty else _df(spark, 1)
    with pytest.raises(ValueError, match=message):  # the peer raised ValueError for each
        dataframe_to_mds(df, mds_kwargs=kwargs, udf_iterable=udf)


def test_our_keyword_form_still_works(spark: Any, tmp_path: Path) -> None:
    from streaming.spark import ConversionSummary, dataframe_to_mds

    summary = dataframe_to_mds(_df(spark, 2), out=str(tmp_path / "a"), columns={"raw": "bytes"})
    assert isinstance(summary, ConversionSummary)
    assert (summary.partitions, summary.samples) == (2, 30)
    assert _index(tmp_path / "a")["shards"][0]["compression"] is None  # our default
    positional = dataframe_to_mds(_df(spark, 2), str(tmp_path / "b"))
    assert positional.samples == 30
    with pytest.raises(TypeError, match="not both"):
        dataframe_to_mds(_df(spark, 1), out=str(tmp_path / "c"), mds_kwargs={"out": "x"})


def test_schema_helpers(spark: Any) -> None:
    from pyspark.sql import types as t

    from streaming.base.converters import (
        SPARK_TO_MDS,
        infer_dataframe_schema,
        is_json_compatible,
    )

    df = _df(spark, 1)
    assert infer_dataframe_schema(df) == {
        "id": "int64", "text": "str", "raw": "bytes", "pair": "ndarray:int32"
    }  # fmt: skip
    assert infer_dataframe_schema(df, {"id": "int64", "raw": "jpeg"}) is None
    with pytest.raises(ValueError, match="nope is not a column of input dataframe"):
        infer_dataframe_schema(df, {"nope": "int"})
    with pytest.raises(ValueError, match="'int99' is not supported"):
        infer_dataframe_schema(df, {"id": "int99"})
    nested = t.StructType([t.StructField("a", t.ArrayType(t.MapType(t.StringType(),
                                                                    t.IntegerType())))])
    assert is_json_compatible(nested)
    assert not is_json_compatible(t.ArrayType(t.BinaryType()))
    with pytest.raises(ValueError, match="raw can not be encoded by MDS JSON"):
        infer_dataframe_schema(df, {"raw": "json"})
    assert SPARK_TO_MDS[t.LongType()] == "int64" and SPARK_TO_MDS[t.BooleanType()] is None
