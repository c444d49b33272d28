"""Bad input gets a clear error: its type says what is wrong, its message where and why.

Writer side: an unknown encoding, a missing or extra column, a value of the wrong type, a
fixed-size column of the wrong size, a shard past 4 GiB. Reader side: a malformed or
unsupported index.json, a truncated shard, offsets out of range, a sample count that disagrees,
a hash mismatch, a compressed file that does not decompress (or inflates past its recorded
size), an unsafe encoding. Each message must name the file, the shard, the column and the
sample where they apply.
"""

from __future__ import annotations

import json
import os
import struct
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from streaming.format import CSVWriter, JSONWriter, MDSWriter, TSVWriter
from streaming.format import writer as writer_module
from streaming.format.compression import compress, decompress
from streaming.format.errors import (
    ColumnError,
    DecompressionError,
    EncodingError,
    FormatError,
    HashMismatchError,
    IndexFormatError,
    ShardFormatError,
    ShardTooLargeError,
    UnsafeEncodingError,
)
from streaming.local import LocalDataset

COLUMNS = {"id": "int", "text": "str", "vec": "ndarray:uint8:2", "arr": "ndarray"}
FAMILIES = ["zstd", "gz", "bz2", "br", "snappy"]


def _sample(i: int) -> dict[str, Any]:
    return {
        "id": i,
        "text": f"text-{i:04}",
        "vec": np.array([i, i + 1], np.uint8),
        "arr": np.arange(i + 1, dtype=np.int32),
    }


def _mds(path: Path, n: int = 12, size_limit: int | None = 400, **kwargs: Any) -> Path:
    """A small MDS dataset of several shards."""
    with MDSWriter(out=str(path), columns=COLUMNS, size_limit=size_limit, **kwargs) as out:
        for i in range(n):
            out.write(_sample(i))
    return path


def _split(path: Path, cls: type, n: int = 12, **kwargs: Any) -> Path:
    with cls(out=str(path), columns={"name": "str", "n": "int"}, size_limit=60, **kwargs) as out:
        for i in range(n):
            out.write({"name": f"row{i}", "n": i})
    return path


def _index(path: Path) -> dict[str, Any]:
    return json.loads((path / "index.json").read_bytes())


def _save_index(path: Path, obj: Any) -> None:
    (path / "index.json").write_text(json.dumps(obj))


def _read_all(path: Path, **kwargs: Any) -> list[dict[str, Any]]:
    return list(LocalDataset(str(path), **kwargs))


def _assert_names(message: str, *parts: str) -> None:
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"


# -- writer side -------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["nope", "ndarray:uint7", "ndarray:uint8:0", "int:8"])
def test_mds_unknown_encoding(tmp_path: Path, encoding: str) -> None:
    with pytest.raises(EncodingError) as info:
        MDSWriter(out=str(tmp_path / "ds"), columns={"good": "int", "bad": encoding})
    _assert_names(str(info.value), repr(encoding), "'bad'")
    assert "expected" in str(info.value) or "supports" in str(info.value)
    assert not (tmp_path / "ds" / "index.json").exists()


@pytest.mark.parametrize("cls", [JSONWriter, CSVWriter, TSVWriter])
def test_split_unknown_encoding(tmp_path: Path, cls: type) -> None:
    with pytest.raises(EncodingError) as info:
        cls(out=str(tmp_path / "ds"), columns={"good": "int", "bad": "bytes"})
    _assert_names(str(info.value), "'bytes'", "'bad'", "expected str, int or float")


def _write_then(
    path: Path, cls: type, columns: dict[str, str], good: list[dict], bad: Any
) -> tuple[str, FormatError]:
    """Write `good` samples (several shards), then `bad`; return the error and its message.

    The error leaves no index.json; the good samples' shards are kept, and are then published
    deliberately with `finish()`."""
    size_limit = 450 if cls is MDSWriter else 40  # a few samples a shard
    with pytest.raises(FormatError) as info:
        with cls(out=str(path), columns=columns, size_limit=size_limit) as out:
            for sample in good:
                out.write(sample)
            out.write(bad)
    assert not (path / "index.json").exists()
    out.finish()
    return str(info.value), info.value


def test_mds_missing_and_extra_column(tmp_path: Path) -> None:
    good = [_sample(i) for i in range(7)]
    bad = _sample(7)
    del bad["text"]
    message, err = _write_then(tmp_path / "a", MDSWriter, COLUMNS, good, bad)
    assert isinstance(err, ColumnError)
    # The complete samples were kept; the bad one would have joined the last shard.
    shards = _index(tmp_path / "a")["shards"]
    assert len(shards) > 1 and sum(s["samples"] for s in shards) == 7
    last = len(shards) - 1
    _assert_names(message, "missing ['text']", "sample 7", f"shard {last}")
    _assert_names(message, f"shard.{last:05}.mds", str(tmp_path / "a"), "expected exactly")

    bad = {**_sample(7), "extra": 1}
    message, err = _write_then(tmp_path / "b", MDSWriter, COLUMNS, good, bad)
    assert isinstance(err, ColumnError)
    _assert_names(message, "unexpected ['extra']", "sample 7", "expected exactly")

    message, err = _write_then(tmp_path / "c", MDSWriter, COLUMNS, good, ["not", "a", "dict"])
    assert isinstance(err, ColumnError)
    _assert_names(message, "must be a dict", "sample 7")


@pytest.mark.parametrize("cls", [JSONWriter, CSVWriter])
def test_split_missing_and_extra_column(tmp_path: Path, cls: type) -> None:
    columns = {"name": "str", "n": "int"}
    good = [{"name": f"row{i}", "n": i} for i in range(9)]
    message, err = _write_then(tmp_path / "a", cls, columns, good, {"name": "x"})
    assert isinstance(err, ColumnError)
    last = len(_index(tmp_path / "a")["shards"]) - 1
    assert last > 0
    ext = cls.format
    _assert_names(message, "missing ['n']", "sample 9", f"shard {last}", f"shard.{last:05}.{ext}")
    message, err = _write_then(tmp_path / "b", cls, columns, good, {"name": "x", "n": 1, "zz": 2})
    assert isinstance(err, ColumnError)
    _assert_names(message, "unexpected ['zz']", "sample 9", "expected exactly ['n', 'name']")


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("id", "seven", "a Python int"),
        ("id", np.int64(7), "a Python int"),
        ("text", 7, "expects str"),
        ("arr", [1, 2], "numpy.ndarray"),
        ("vec", np.array([1, 2], np.int16), "expects dtype uint8"),
    ],
)
def test_mds_wrong_type(tmp_path: Path, column: str, value: Any, expected: str) -> None:
    good = [_sample(i) for i in range(5)]
    bad = {**_sample(5), column: value}
    message, err = _write_then(tmp_path, MDSWriter, COLUMNS, good, bad)
    assert isinstance(err, EncodingError)
    _assert_names(message, f"column {column!r}", "sample 5", "shard ", "shard.0", expected)


@pytest.mark.parametrize("cls", [JSONWriter, CSVWriter, TSVWriter])
def test_split_wrong_type(tmp_path: Path, cls: type) -> None:
    columns = {"name": "str", "n": "int"}
    good = [{"name": f"row{i}", "n": i} for i in range(4)]
    message, err = _write_then(tmp_path, cls, columns, good, {"name": "x", "n": "four"})
    assert isinstance(err, EncodingError)
    _assert_names(message, "column 'n'", "sample 4", "'int'", "str", f".{cls.format}'")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"\x01\x02\x03", "needs 2 bytes of values, but got 3"),  # pre-encoded bytes: checked
        (np.array([1, 2, 3], np.uint8), "expects shape (2,)"),
    ],
)
def test_mds_fixed_size_column_wrong_size(tmp_path: Path, value: Any, expected: str) -> None:
    good = [_sample(i) for i in range(6)]
    message, err = _write_then(tmp_path, MDSWriter, COLUMNS, good, {**_sample(6), "vec": value})
    assert isinstance(err, EncodingError)
    _assert_names(message, "column 'vec'", "'ndarray:uint8:2'", "sample 6", expected)
    # Only the complete samples before the bad one were written, and they read back.
    assert [s["id"] for s in _read_all(tmp_path)] == list(range(6))


def test_shard_past_the_offset_limit_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(writer_module, "MAX_SHARD_BYTES", 1500)
    with pytest.raises(ShardTooLargeError) as info:
        with MDSWriter(out=str(tmp_path), columns={"b": "bytes"}, size_limit=None) as out:
            for i in range(100):
                out.write({"b": bytes([i]) * 100})
    assert not (tmp_path / "index.json").exists()  # an error leaves no index...
    out.finish()  # ...until the samples written are published deliberately
    message = str(info.value)
    _assert_names(message, "4 GiB", "shard 0", "size_limit", "instead of None", str(tmp_path))
    # Nothing corrupt: the samples that fit were written, the one that did not was not.
    (entry,) = _index(tmp_path)["shards"]
    assert entry["raw_data"]["bytes"] <= 1500
    assert entry["samples"] == len(_read_all(tmp_path)) > 0
    assert message.startswith(f"Sample {entry['samples']} ")


def test_shard_past_the_offset_limit_with_a_size_limit(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(writer_module, "MAX_SHARD_BYTES", 1500)
    with pytest.raises(ShardTooLargeError):
        with MDSWriter(out=str(tmp_path), columns={"b": "bytes"}, size_limit=1000) as out:
            out.write({"b": b"x" * 100})
            out.write({"b": b"y" * 2000})  # alone, it passes the limit
    out.finish()
    assert [s["b"] for s in _read_all(tmp_path)] == [b"x" * 100]


@pytest.mark.parametrize("cls", [JSONWriter, CSVWriter])
def test_split_shard_past_the_offset_limit_is_refused(
    tmp_path: Path, monkeypatch, cls: type
) -> None:
    monkeypatch.setattr(writer_module, "MAX_SHARD_BYTES", 300)
    with pytest.raises(ShardTooLargeError) as info:
        with cls(out=str(tmp_path), columns={"name": "str", "n": "int"}, size_limit=None) as out:
            for i in range(100):
                out.write({"name": f"row{i}", "n": i})
    out.finish()
    (entry,) = _index(tmp_path)["shards"]
    assert entry["raw_data"]["bytes"] <= 300 + 10  # the CSV header is not counted
    rows = _read_all(tmp_path)
    assert rows == [{"name": f"row{i}", "n": i} for i in range(len(rows))] and rows
    _assert_names(str(info.value), f"Sample {len(rows)} ", "shard 0", "4 GiB", str(tmp_path))


@pytest.mark.parametrize("size_limit", [2**32, 2**40, "4gb", "5gb"])
def test_size_limit_at_or_past_4gib_is_refused(tmp_path: Path, size_limit: Any) -> None:
    with pytest.raises(ValueError, match="4 GiB") as info:
        MDSWriter(out=str(tmp_path), columns={"b": "bytes"}, size_limit=size_limit)
    assert repr(size_limit) in str(info.value)


def test_size_limit_just_below_4gib_is_accepted(tmp_path: Path) -> None:
    with MDSWriter(out=str(tmp_path), columns={"b": "bytes"}, size_limit=2**32 - 1) as out:
        out.write({"b": b"x"})
    assert _read_all(tmp_path) == [{"b": b"x"}]


# -- index.json --------------------------------------------------------------------------------


def _index_error(path: Path) -> str:
    with pytest.raises(IndexFormatError) as info:
        LocalDataset(str(path))
    message = str(info.value)
    assert str(path / "index.json") in message
    return message


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"\xff\xfe", b"[1, 2]", b"null", b"[" * 100_000, b"1" * 5000, b'{"version": 2}'],
)
def test_index_malformed(tmp_path: Path, raw: bytes) -> None:
    (tmp_path / "index.json").write_bytes(raw)
    message = _index_error(tmp_path)
    assert "Malformed index" in message or "Unsupported index version" in message


@pytest.mark.parametrize("version", [1, 3, "2", None])
def test_index_unsupported_version(tmp_path: Path, version: Any) -> None:
    _mds(tmp_path)
    obj = _index(tmp_path)
    obj["version"] = version
    _save_index(tmp_path, obj)
    _assert_names(_index_error(tmp_path), f"version {version!r}", "only version 2")


def test_index_unsupported_shard_version(tmp_path: Path) -> None:
    _mds(tmp_path)
    obj = _index(tmp_path)
    obj["shards"][1]["version"] = 7
    _save_index(tmp_path, obj)
    _assert_names(_index_error(tmp_path), "shard version 7", "shard 1", "only version 2")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda e: e.pop("samples"), "'samples' must be an integer"),
        (lambda e: e.update(samples=-1), "'samples' must be an integer"),
        (lambda e: e.update(samples=2**40), "'samples' must be an integer"),
        (lambda e: e.update(samples=True), "'samples' must be an integer"),
        (lambda e: e.pop("raw_data"), "missing 'raw_data'"),
        (lambda e: e.pop("format"), "unknown format None"),
        (lambda e: e.update(format=["mds"]), "unknown format ['mds']"),
        (lambda e: e.pop("column_names"), "'column_names' must be a list"),
        (lambda e: e["column_sizes"].pop(), "must have the same length"),
        (lambda e: e.update(column_sizes=[1, 2**40, None, None]), "column sizes"),
        (lambda e: e["raw_data"].pop("bytes"), "raw_data.bytes must be"),
        (lambda e: e["raw_data"].update(hashes=[]), "raw_data.hashes must be"),
        (lambda e: e["raw_data"].update(basename="../outside.mds"), "relative path inside"),
        (lambda e: e["raw_data"].update(basename="a/../../outside"), "relative path inside"),
        (lambda e: e["raw_data"].update(basename="/etc/passwd"), "relative path inside"),
        (lambda e: e["raw_data"].update(basename="x\x00y"), "relative path inside"),
        (lambda e: e["raw_data"].update(basename=""), "non-empty string"),
        (lambda e: e.update(compression="zstd:99"), "unknown 'compression' 'zstd:99'"),
        (lambda e: e.update(compression="zstd"), "'zip_data' must be given"),
        (lambda e: e.update(hashes="xxh64"), "'hashes' must be a list"),
    ],
)
def test_index_bad_fields(tmp_path: Path, change: Any, expected: str) -> None:
    _mds(tmp_path)
    obj = _index(tmp_path)
    change(obj["shards"][2])
    _save_index(tmp_path, obj)
    _assert_names(_index_error(tmp_path), "shard 2", expected)


@pytest.mark.parametrize(
    ("cls", "change", "expected"),
    [
        (JSONWriter, lambda e: e.pop("raw_meta"), "missing 'raw_meta'"),
        (JSONWriter, lambda e: e.update(columns=["name"]), "'columns' object"),
        (JSONWriter, lambda e: e.update(newline=""), "'newline' must be a non-empty string"),
        (CSVWriter, lambda e: e.update(newline=7), "'newline' must be a non-empty string"),
        (CSVWriter, lambda e: e["raw_meta"].update(basename="../m"), "relative path inside"),
        (CSVWriter, lambda e: e.pop("column_encodings"), "'column_encodings' must be a list"),
    ],
)
def test_index_bad_split_fields(tmp_path: Path, cls: type, change: Any, expected: str) -> None:
    _split(tmp_path, cls)
    obj = _index(tmp_path)
    change(obj["shards"][1])
    _save_index(tmp_path, obj)
    _assert_names(_index_error(tmp_path), "shard 1", expected)


def test_index_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="index.json"):
        LocalDataset(str(tmp_path))


def test_index_unknown_encoding(tmp_path: Path) -> None:
    _mds(tmp_path)
    obj = _index(tmp_path)
    obj["shards"][1]["column_encodings"][1] = "utf-9"  # "text"
    _save_index(tmp_path, obj)
    with pytest.raises(EncodingError) as info:
        LocalDataset(str(tmp_path))
    _assert_names(
        str(info.value), "'utf-9'", "column 'id'", "shard 1", str(tmp_path / "index.json")
    )


@pytest.mark.parametrize("cls", [JSONWriter, CSVWriter])
def test_index_unknown_split_encoding(tmp_path: Path, cls: type) -> None:
    _split(tmp_path, cls)
    obj = _index(tmp_path)
    if cls is JSONWriter:
        obj["shards"][1]["columns"]["n"] = "decimal"
    else:
        obj["shards"][1]["column_encodings"][0] = "decimal"  # sorted: n, name
    _save_index(tmp_path, obj)
    with pytest.raises(EncodingError) as info:
        LocalDataset(str(tmp_path))
    _assert_names(str(info.value), "'decimal'", "column 'n'", "shard 1", "index.json")


def test_index_fixed_size_disagrees_with_encoding(tmp_path: Path) -> None:
    _mds(tmp_path)
    obj = _index(tmp_path)
    names = obj["shards"][0]["column_names"]
    obj["shards"][0]["column_sizes"][names.index("vec")] = 3
    _save_index(tmp_path, obj)
    with pytest.raises(ShardFormatError) as info:
        LocalDataset(str(tmp_path))
    _assert_names(str(info.value), "'vec'", "shard 0", "records size 3", "is 2 bytes")


def test_pkl_refused_without_allow_unsafe_types(tmp_path: Path) -> None:
    with MDSWriter(out=str(tmp_path), columns={"obj": "pkl", "id": "int"}) as out:
        out.write({"obj": {"a": [1, 2]}, "id": 0})
    with pytest.raises(UnsafeEncodingError) as info:
        LocalDataset(str(tmp_path))
    _assert_names(str(info.value), "'obj'", "'pkl'", "shard 0", "index.json", "allow_unsafe_types")
    assert _read_all(tmp_path, allow_unsafe_types=True) == [{"obj": {"a": [1, 2]}, "id": 0}]


# -- shard files -------------------------------------------------------------------------------


def _shard_path(path: Path, shard: int, role: str = "raw_data") -> Path:
    return path / _index(path)["shards"][shard][role]["basename"]


def _set_recorded_bytes(path: Path, shard: int, role: str, size: int) -> None:
    obj = _index(path)
    obj["shards"][shard][role]["bytes"] = size
    _save_index(path, obj)


def test_missing_shard_file(tmp_path: Path) -> None:
    _mds(tmp_path)
    _shard_path(tmp_path, 1).unlink()
    ds = LocalDataset(str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        list(ds)
    _assert_names(str(info.value), "shard.00001.mds", "shard 1")


def test_truncated_mds_shard(tmp_path: Path) -> None:
    _mds(tmp_path)
    shard = _shard_path(tmp_path, 1)
    data = shard.read_bytes()
    shard.write_bytes(data[:-5])
    with pytest.raises(ShardFormatError) as info:
        _read_all(tmp_path)
    _assert_names(str(info.value), str(shard), "shard 1", "truncated", str(len(data)))

    # Truncated with index.json made to agree: the offsets give it away.
    _set_recorded_bytes(tmp_path, 1, "raw_data", len(data) - 5)
    with pytest.raises(ShardFormatError) as info:
        _read_all(tmp_path)
    n = _index(tmp_path)["shards"][1]["samples"]
    _assert_names(str(info.value), str(shard), "shard 1", f"sample {n - 1}", "out of range")

    # Truncated inside its header.
    shard.write_bytes(data[:6])
    _set_recorded_bytes(tmp_path, 1, "raw_data", 6)
    with pytest.raises(ShardFormatError) as info:
        _read_all(tmp_path)
    _assert_names(str(info.value), str(shard), "shard 1", "too short for the header", "truncated")


@pytest.mark.parametrize("cls", [JSONWriter, CSVWriter])
@pytest.mark.parametrize("role", ["raw_data", "raw_meta"])
def test_truncated_split_shard(tmp_path: Path, cls: type, role: str) -> None:
    _split(tmp_path, cls)
    path = _shard_path(tmp_path, 1, role)
    data = path.read_bytes()
    path.write_bytes(data[:-3])
    with pytest.raises(ShardFormatError) as info:
        _read_all(tmp_path)
    _assert_names(str(info.value), str(path), "shard 1", "truncated", str(len(data)))

    # Truncated with index.json made to agree: the offsets give it away.
    n = _index(tmp_path)["shards"][1]["samples"]
    size = len(data) - 3 if role == "raw_data" else 4 * (n + 1)  # meta: into the offsets
    path.write_bytes(data[:size])
    _set_recorded_bytes(tmp_path, 1, role, size)
    with pytest.raises(ShardFormatError) as info:
        _read_all(tmp_path)
    _assert_names(str(info.value), "shard 1", "truncated")


def _put_uint32(path: Path, pos: int, value: int) -> None:
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, pos, value)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("value", [0xFFFFFF00, 0, 3])
def test_mds_offsets_out_of_range(tmp_path: Path, value: int) -> None:
    _mds(tmp_path)
    shard = _shard_path(tmp_path, 0)
    _put_uint32(shard, 4 + 4 * 3, value)  # offsets[3], the end of sample 2
    with pytest.raises(ShardFormatError) as info:
        _read_all(tmp_path)
    message = str(info.value)
    _assert_names(message, str(shard), "shard 0", "out of range")
    assert "sample 2" in message or "sample 3" in message


@pytest.mark.parametrize("cls", [JSONWriter, CSVWriter])
def test_split_offsets_out_of_range(tmp_path: Path, cls: type) -> None:
    _split(tmp_path, cls)
    meta = _shard_path(tmp_path, 0, "raw_meta")
    _put_uint32(meta, 4 + 4 * 2, 0xFFFFFF00)  # offsets[2], the end of sample 1
    with pytest.raises(ShardFormatError) as info:
        _read_all(tmp_path)
    _assert_names(str(info.value), str(meta), "shard 0", "sample 1", "outside the")


def test_mds_sample_count_mismatch(tmp_path: Path) -> None:
    _mds(tmp_path)
    shard = _shard_path(tmp_path, 2)
    n = _index(tmp_path)["shards"][2]["samples"]
    _put_uint32(shard, 0, n + 1)
    with pytest.raises(ShardFormatError) as info:
        _read_all(tmp_path)
    _assert_names(str(info.value), str(shard), "shard 2", f"says {n + 1} samples", f"says {n}")


@pytest.mark.parametrize("cls", [JSONWriter, CSVWriter])
def test_split_sample_count_mismatch(tmp_path: Path, cls: type) -> None:
    _split(tmp_path, cls)
    meta = _shard_path(tmp_path, 1, "raw_meta")
    _put_uint32(meta, 0, 1000)
    with pytest.raises(ShardFormatError) as info:
        _read_all(tmp_path)
    _assert_names(str(info.value), str(meta), "shard 1", "says 1000 samples")


def _overwrite(path: Path, marker: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert data.count(marker) == 1
    path.write_bytes(data.replace(marker, new))


def test_mds_column_bytes_corrupt(tmp_path: Path) -> None:
    _mds(tmp_path)
    shard = _shard_path(tmp_path, 1)
    text = next(s["text"] for s in _read_all(tmp_path) if s["id"] == 3)
    _overwrite(shard, text.encode(), b"\xff" * len(text))  # not UTF-8
    ds = LocalDataset(str(tmp_path))
    with pytest.raises(EncodingError) as info:
        ds[3]
    first = _index(tmp_path)["shards"][0]["samples"]
    _assert_names(str(info.value), "column 'text'", f"sample {3 - first}", "shard 1", str(shard))
    _assert_names(str(info.value), "not UTF-8")


def test_mds_variable_size_runs_past_the_sample(tmp_path: Path) -> None:
    _mds(tmp_path)
    shard = _shard_path(tmp_path, 0)
    begin = struct.unpack_from("<I", shard.read_bytes(), 4 + 4 * 1)[0]  # sample 1
    _put_uint32(shard, begin, 10_000)  # the size of "arr", its first variable-size column
    with pytest.raises(ShardFormatError) as info:
        LocalDataset(str(tmp_path))[1]
    _assert_names(str(info.value), "Column 'arr' runs past", "sample 1", "shard 0", str(shard))


@pytest.mark.parametrize("cls", [JSONWriter, CSVWriter])
def test_split_sample_corrupt(tmp_path: Path, cls: type) -> None:
    _split(tmp_path, cls)
    data = _shard_path(tmp_path, 1)
    raw = data.read_bytes()
    first = _index(tmp_path)["shards"][0]["samples"]
    row = f"row{first}".encode()
    _overwrite(data, row, b"\x00" * len(row) if cls is JSONWriter else row[:-1] + b",")
    with pytest.raises(ShardFormatError) as info:
        LocalDataset(str(tmp_path))[first]
    _assert_names(str(info.value), "shard 1", "sample 0", str(data))
    if cls is CSVWriter:
        _assert_names(str(info.value), "3 fields, expected 2")
        assert first < 10  # so that "x" takes the place of one digit
        data.write_bytes(raw.replace(f"\n{first},".encode(), b"\nx,", 1))  # columns: n, name
        with pytest.raises(ShardFormatError) as info:
            LocalDataset(str(tmp_path))[first]
        _assert_names(str(info.value), "not a valid int", "column 'n'", "sample 0", "shard 1")


# -- hashes ------------------------------------------------------------------------------------


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("compression", [None, "zstd"])
def test_mds_hash_mismatch(tmp_path: Path, compression: str | None) -> None:
    _mds(tmp_path, hashes=["sha1", "xxh64"], compression=compression)
    role = "zip_data" if compression else "raw_data"
    shard = _shard_path(tmp_path, 1, role)
    _flip_last_byte(shard)
    ds = LocalDataset(str(tmp_path), validate_hash="xxh64")
    with pytest.raises(HashMismatchError) as info:
        list(ds)
    expected = _index(tmp_path)["shards"][1][role]["hashes"]["xxh64"]
    _assert_names(str(info.value), str(shard), "shard 1", "xxh64", expected, "Checksum failure")


def test_split_hash_mismatch(tmp_path: Path) -> None:
    _split(tmp_path, JSONWriter, hashes=["md5"])
    meta = _shard_path(tmp_path, 0, "raw_meta")
    _flip_last_byte(meta)
    with pytest.raises(HashMismatchError) as info:
        _read_all(tmp_path, validate_hash="md5")
    _assert_names(str(info.value), str(meta), "shard 0", "md5")


def test_hash_not_recorded(tmp_path: Path) -> None:
    _mds(tmp_path, hashes=["sha1"])
    with pytest.raises(IndexFormatError) as info:
        _read_all(tmp_path, validate_hash="xxh64")
    _assert_names(str(info.value), "'xxh64'", "['sha1']", "shard 0", "shard.00000.mds")


# -- compression -------------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_compressed_shard_corrupt(tmp_path: Path, family: str) -> None:
    _mds(tmp_path, compression=family)
    zipped = _shard_path(tmp_path, 1, "zip_data")
    zipped.write_bytes(b"\xaa" * zipped.stat().st_size)  # same size, nothing like the codec
    with pytest.raises(DecompressionError) as info:
        _read_all(tmp_path)
    _assert_names(str(info.value), str(zipped), "shard 1", repr(family), "corrupt")
    assert not _shard_path(tmp_path, 1).exists()  # no raw file made from it


@pytest.mark.parametrize("role", ["zip_data", "zip_meta"])
def test_compressed_split_shard_corrupt(tmp_path: Path, role: str) -> None:
    _split(tmp_path, JSONWriter, compression="zstd")
    zipped = _shard_path(tmp_path, 1, role)
    zipped.write_bytes(b"\xaa" * zipped.stat().st_size)
    with pytest.raises(DecompressionError) as info:
        _read_all(tmp_path)
    _assert_names(str(info.value), str(zipped), "shard 1", "'zstd'", "corrupt")


@pytest.mark.parametrize("family", FAMILIES)
def test_compressed_shard_truncated(tmp_path: Path, family: str) -> None:
    _mds(tmp_path, compression=family)
    zipped = _shard_path(tmp_path, 1, "zip_data")
    data = zipped.read_bytes()
    zipped.write_bytes(data[: len(data) // 2])
    with pytest.raises(ShardFormatError) as info:  # the recorded size gives it away first
        _read_all(tmp_path)
    _assert_names(str(info.value), str(zipped), "shard 1", "truncated", str(len(data)))
    _set_recorded_bytes(tmp_path, 1, "zip_data", len(data) // 2)
    with pytest.raises(DecompressionError) as info:
        _read_all(tmp_path)
    _assert_names(str(info.value), str(zipped), "shard 1", repr(family))


@pytest.mark.parametrize("family", FAMILIES)
def test_compressed_shard_inflates_past_its_recorded_size(tmp_path: Path, family: str) -> None:
    _mds(tmp_path, compression=family)
    raw_size = _index(tmp_path)["shards"][1]["raw_data"]["bytes"]
    _set_recorded_bytes(tmp_path, 1, "raw_data", raw_size - 10)
    with pytest.raises(DecompressionError) as info:
        _read_all(tmp_path)
    _assert_names(str(info.value), "shard 1", repr(family), f"records {raw_size - 10} bytes")


@pytest.mark.parametrize("family", FAMILIES)
def test_compressed_shard_smaller_than_recorded(tmp_path: Path, family: str) -> None:
    _mds(tmp_path, compression=family)
    raw_size = _index(tmp_path)["shards"][1]["raw_data"]["bytes"]
    _set_recorded_bytes(tmp_path, 1, "raw_data", raw_size + 10)
    with pytest.raises(ShardFormatError) as info:
        _read_all(tmp_path)
    _assert_names(str(info.value), "shard 1", f"decompresses to {raw_size} bytes")


def _bomb(family: str, size: int) -> bytes:
    if family == "zstd":
        import zstandard

        # Without the content size in its header, so that only the streaming bound can catch it.
        return zstandard.ZstdCompressor(write_content_size=False).compress(bytes(size))
    level = {"gz": "gz:1", "bz2": "bz2:1", "br": "br:1", "snappy": "snappy"}[family]
    return compress(level, bytes(size))


@pytest.mark.parametrize("family", FAMILIES)
def test_decompression_bomb_is_bounded(family: str) -> None:
    bomb = _bomb(family, 32 << 20)
    tracemalloc.start()
    try:
        with pytest.raises(DecompressionError, match="records 1000 bytes"):
            decompress(family, bomb, "bomb", max_size=1000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"{family} allocated {peak} bytes to refuse a bomb"


def test_zstd_declared_size_past_the_limit() -> None:
    with pytest.raises(DecompressionError, match="declares 100000 bytes"):
        decompress("zstd", compress("zstd", bytes(100_000)), "x", max_size=99_999)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("size", [0, 1, 1000, 300_001])
def test_decompress_with_max_size_round_trips(family: str, size: int) -> None:
    data = os.urandom(size // 2) + bytes(size - size // 2)
    packed = compress(family, data)
    assert decompress(family, packed, max_size=size) == data
    assert decompress(family, packed) == data
    if size:
        with pytest.raises(DecompressionError):
            decompress(family, packed, max_size=size - 1)


@pytest.mark.parametrize("family", ["gz", "bz2"])
def test_decompress_multi_member(family: str) -> None:
    packed = compress(family, b"hello ") + compress(family, b"world")
    assert decompress(family, packed, max_size=11) == b"hello world"
    with pytest.raises(DecompressionError):
        decompress(family, packed, max_size=10)
