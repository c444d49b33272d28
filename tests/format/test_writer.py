"""The writers' behaviour that users see: files, shard splits, arguments, output locations."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from streaming import CSVWriter, JSONWriter, LocalDataset, MDSWriter, TSVWriter, XSVWriter
from streaming.format.errors import EncodingError

COLUMNS = {"id": "int", "text": "str"}


def write(out: object, n: int, **kwargs: object) -> None:
    with MDSWriter(out=out, columns=COLUMNS, **kwargs) as writer:
        for i in range(n):
            writer.write({"id": i, "text": "x" * i})


def index(path: Path) -> dict:
    return json.loads((path / "index.json").read_text())


def test_mds_shard_layout(tmp_path: Path) -> None:
    write(tmp_path, 3)
    shard = (tmp_path / "shard.00000.mds").read_bytes()
    entry = index(tmp_path)["shards"][0]
    config = {k: v for k, v in entry.items() if k not in ("samples", "raw_data", "zip_data")}
    config_bytes = json.dumps(config, sort_keys=True).encode()
    n, *offsets = struct.unpack_from("<5I", shard, 0)
    assert n == 3
    assert offsets[0] == 4 + 4 * 4 + len(config_bytes)
    assert offsets[-1] == len(shard) == entry["raw_data"]["bytes"]
    assert shard[20 : offsets[0]] == config_bytes
    # Sample 2: the uint32 size of 'text' (the only variable column), then id, then text.
    assert shard[offsets[2] : offsets[3]] == struct.pack("<I", 2) + struct.pack("<q", 2) + b"xx"


def test_index_is_the_peers_json(tmp_path: Path) -> None:
    write(tmp_path, 2, hashes=["sha1", "xxh64"], size_limit="1kb")
    raw = (tmp_path / "index.json").read_bytes()
    obj = json.loads(raw)
    assert raw == json.dumps(obj, sort_keys=True).encode()  # sorted keys, default separators
    assert not raw.endswith(b"\n")
    entry = obj["shards"][0]
    assert entry["column_names"] == ["id", "text"]
    assert entry["column_encodings"] == ["int", "str"]
    assert entry["column_sizes"] == [8, None]
    assert entry["size_limit"] == 1024 and entry["hashes"] == ["sha1", "xxh64"]
    assert entry["compression"] is None and entry["zip_data"] is None
    assert set(entry["raw_data"]["hashes"]) == {"sha1", "xxh64"}


def test_size_limit_splits_shards_exactly(tmp_path: Path) -> None:
    write(tmp_path, 50, size_limit=600)
    shards = index(tmp_path)["shards"]
    assert [s["raw_data"]["basename"] for s in shards] == [
        f"shard.{i:05}.mds" for i in range(len(shards))
    ]
    assert sum(s["samples"] for s in shards) == 50
    for s in shards:
        assert s["raw_data"]["bytes"] == os.path.getsize(tmp_path / s["raw_data"]["basename"])
        assert s["samples"] == 0 or s["raw_data"]["bytes"] <= 600 or s["samples"] == 1
    assert [r["id"] for r in LocalDataset(str(tmp_path))] == list(range(50))


def test_first_sample_over_the_limit_gives_an_empty_shard_first(tmp_path: Path) -> None:
    with MDSWriter(out=str(tmp_path), columns={"b": "bytes"}, size_limit=300) as writer:
        writer.write({"b": b"x" * 500})
        writer.write({"b": b"y"})
    shards = index(tmp_path)["shards"]
    assert [s["samples"] for s in shards] == [0, 1, 1]  # as mosaicml-streaming does
    assert [r["b"] for r in LocalDataset(str(tmp_path))] == [b"x" * 500, b"y"]


def test_size_limit_none_is_one_shard(tmp_path: Path) -> None:
    write(tmp_path, 100, size_limit=None)
    shards = index(tmp_path)["shards"]
    assert len(shards) == 1 and shards[0]["samples"] == 100 and shards[0]["size_limit"] is None


def test_no_samples_gives_an_empty_index(tmp_path: Path) -> None:
    write(tmp_path, 0)
    assert (tmp_path / "index.json").read_text() == '{"shards": [], "version": 2}'
    assert len(LocalDataset(str(tmp_path))) == 0


@pytest.mark.parametrize("compression", ["zstd", "zstd:7", "gz", "br:1", "bz2", "snappy"])
def test_compressed_output_keeps_only_the_compressed_file(tmp_path: Path, compression: str) -> None:
    write(tmp_path, 20, compression=compression, hashes=["md5"], size_limit=200)
    ext = compression.split(":")[0]
    names = sorted(os.listdir(tmp_path))
    shards = index(tmp_path)["shards"]
    assert names == ["index.json"] + [f"shard.{i:05}.mds.{ext}" for i in range(len(shards))]
    for s in shards:
        assert s["compression"] == compression
        assert s["zip_data"]["basename"] == s["raw_data"]["basename"] + f".{ext}"
        assert s["zip_data"]["bytes"] == os.path.getsize(tmp_path / s["zip_data"]["basename"])
        assert set(s["zip_data"]["hashes"]) == {"md5"}
    assert [r["text"] for r in LocalDataset(str(tmp_path))] == ["x" * i for i in range(20)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"compression": "lz4"}, "Invalid compression"),
        ({"hashes": ["xxh64", "sha1"]}, "sorted"),
        ({"hashes": ["crc32"]}, "Invalid hash 'crc32'"),
        ({"size_limit": 2**32}, "Invalid size_limit"),
        ({"size_limit": "5gb"}, "Invalid size_limit"),
        ({"size_limit": "lots"}, "Invalid byte size"),
        ({"shuffle": True}, r"Invalid Writer argument\(s\): \['shuffle'\]"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MDSWriter(out=str(tmp_path), columns=COLUMNS, **kwargs)


def test_accepted_extra_arguments(tmp_path: Path) -> None:
    write(tmp_path, 5, progress_bar=True, max_workers=1, retry=3, exist_ok=False, keep_local=True)
    assert len(LocalDataset(str(tmp_path))) == 5


def test_unknown_encoding_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(EncodingError, match="'tensor' for column 'x'"):
        MDSWriter(out=str(out), columns={"x": "tensor"})
    assert not out.exists()


def test_exist_ok(tmp_path: Path) -> None:
    write(tmp_path, 5)
    with pytest.raises(FileExistsError, match="Directory is not empty"):
        write(tmp_path, 3)
    write(tmp_path, 3, exist_ok=True)
    assert len(LocalDataset(str(tmp_path))) == 3


def test_local_and_remote_pair_uploads_every_file(tmp_path: Path) -> None:
    local, remote = tmp_path / "local", tmp_path / "remote"
    write((str(local), f"file://{remote}"), 30, size_limit=300, compression="zstd", keep_local=True)
    assert sorted(os.listdir(local)) == sorted(os.listdir(remote))
    for name in os.listdir(local):
        assert (local / name).read_bytes() == (remote / name).read_bytes()
    assert [r["id"] for r in LocalDataset(str(remote))] == list(range(30))


def test_uploaded_files_leave_the_local_dir_unless_keep_local(tmp_path: Path) -> None:
    local, remote = tmp_path / "local", tmp_path / "remote"
    write((str(local), f"file://{remote}"), 30, size_limit=300)
    assert os.listdir(local) == []
    assert [r["id"] for r in LocalDataset(str(remote))] == list(range(30))


def test_remote_url_uses_a_temporary_local_dir(tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    with MDSWriter(out=f"file://{remote}", columns=COLUMNS) as writer:
        writer.write({"id": 1, "text": "a"})
        local = writer.local
    assert not os.path.exists(local)  # removed, since keep_local is False
    assert LocalDataset(str(remote))[0] == {"id": 1, "text": "a"}


def test_remote_must_be_empty(tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    write(f"file://{remote}", 2)
    with pytest.raises(FileExistsError, match="is not empty"):
        write((str(tmp_path / "local"), f"file://{remote}"), 2)


def test_unsupported_remote_scheme_names_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no storage backend for scheme 'abc://'"):
        write((str(tmp_path), "abc://bucket/x"), 1)


def test_numpy_values(tmp_path: Path) -> None:
    columns = {"a": "ndarray:float32:2,2", "b": "ndarray", "u": "uint16", "j": "json"}
    rows = [
        {
            "a": np.full((2, 2), i, np.float32),
            "b": np.arange(i + 1, dtype=np.int64),
            "u": np.uint16(i),
            "j": {"i": [i]},
        }
        for i in range(4)
    ]
    with MDSWriter(out=str(tmp_path), columns=columns) as writer:
        for row in rows:
            writer.write(row)
    ds = LocalDataset(str(tmp_path))
    for row, got in zip(rows, ds, strict=True):
        assert got["a"].dtype == np.float32 and np.array_equal(got["a"], row["a"])
        assert np.array_equal(got["b"], row["b"]) and got["b"].dtype == np.int64
        assert got["u"] == row["u"] and isinstance(got["u"], np.uint16)
        assert got["j"] == row["j"]


def test_json_shard_bytes(tmp_path: Path) -> None:
    with JSONWriter(out=str(tmp_path), columns={"b": "int", "a": "str"}) as writer:
        writer.write({"b": 1, "a": "x"})
        writer.write({"b": 22, "a": "é"})
    data = (tmp_path / "shard.00000.json").read_bytes()
    assert data == b'{"a": "x", "b": 1}\n{"a": "\\u00e9", "b": 22}\n'
    meta = (tmp_path / "shard.00000.json.meta").read_bytes()
    assert struct.unpack_from("<4I", meta) == (2, 0, 19, len(data))
    entry = index(tmp_path)["shards"][0]
    assert entry["columns"] == {"b": "int", "a": "str"} and entry["newline"] == "\n"
    assert entry["raw_meta"]["basename"] == "shard.00000.json.meta"
    assert meta[16:] == json.dumps(
        {k: entry[k] for k in ("columns", "compression", "format", "hashes", "newline",
                               "size_limit", "version")}, sort_keys=True
    ).encode()  # fmt: skip
    assert LocalDataset(str(tmp_path))[1] == {"a": "é", "b": 22}


@pytest.mark.parametrize(
    ("cls", "kwargs", "sep", "fmt"),
    [
        (CSVWriter, {}, ",", "csv"),
        (TSVWriter, {}, "\t", "tsv"),
        (XSVWriter, {"separator": "::"}, "::", "xsv"),
    ],
)
def test_xsv_shard_bytes(tmp_path: Path, cls: type, kwargs: dict, sep: str, fmt: str) -> None:
    with cls(out=str(tmp_path), columns={"n": "int", "f": "float", "s": "str"}, **kwargs) as w:
        w.write({"n": 1, "f": 0.5, "s": "a b"})
        w.write({"n": -2, "f": 3, "s": ""})
    data = (tmp_path / f"shard.00000.{fmt}").read_bytes()
    header = f"f{sep}n{sep}s\n".encode()
    rows = [f"0.5{sep}1{sep}a b\n".encode(), f"3{sep}-2{sep}\n".encode()]
    assert data == header + b"".join(rows)
    meta = (tmp_path / f"shard.00000.{fmt}.meta").read_bytes()
    h, r0 = len(header), len(rows[0])
    assert struct.unpack_from("<4I", meta) == (2, h, h + r0, len(data))  # absolute offsets
    entry = index(tmp_path)["shards"][0]
    assert entry["format"] == fmt
    assert ("separator" in entry) == (fmt == "xsv")
    ds = LocalDataset(str(tmp_path))
    assert ds[0] == {"f": 0.5, "n": 1, "s": "a b"}
    assert ds[1] == {"f": 3.0, "n": -2, "s": ""}


def test_xsv_refuses_values_it_cannot_escape(tmp_path: Path) -> None:
    with pytest.raises(EncodingError, match="contains the separator"):
        with CSVWriter(out=str(tmp_path), columns={"s": "str"}) as writer:
            writer.write({"s": "a,b"})
    with pytest.raises(ValueError, match="contains the separator"):
        CSVWriter(out=str(tmp_path / "x"), columns={"a,b": "str"})
