"""LocalDataset: every way users index it, compressed shards, pickling into DataLoader workers."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from streaming import JSONWriter, LocalDataset, MDSWriter


def make(path: Path, n: int = 40, **kwargs: object) -> Path:
    with MDSWriter(
        out=str(path), columns={"id": "int", "blob": "bytes"}, size_limit=400, **kwargs
    ) as w:
        for i in range(n):
            w.write({"id": i, "blob": bytes([i % 256]) * (i % 17)})
    return path


def ids(rows: list[dict]) -> list[int]:
    return [r["id"] for r in rows]


def test_indexing_forms(tmp_path: Path) -> None:
    ds = LocalDataset(str(make(tmp_path)))
    assert len(ds) == ds.size == ds.num_samples == 40
    assert len(ds.shards) > 3  # several shards, so lookups cross shard boundaries
    assert ds[0] == {"id": 0, "blob": b""}
    assert ds[18] == {"id": 18, "blob": bytes([18])}
    assert ds[-1]["id"] == 39 and ds[np.int64(7)]["id"] == 7
    assert ids(ds[5:9]) == [5, 6, 7, 8]
    assert ids(ds[::-13]) == [39, 26, 13, 0]
    assert ids(ds[[3, 3, 39, 0]]) == [3, 3, 39, 0]
    assert ids(ds[np.array([1, 38], np.int32)]) == [1, 38]
    assert ids(list(ds)) == list(range(40))


@pytest.mark.parametrize("bad", [40, -41, 10**12])
def test_out_of_range(tmp_path: Path, bad: int) -> None:
    ds = LocalDataset(str(make(tmp_path)))
    with pytest.raises(IndexError, match="Sample index .* out of range for 40 samples"):
        ds[bad]


@pytest.mark.parametrize("bad", ["3", 1.5, None, np.array([[1]])])
def test_bad_index_types(tmp_path: Path, bad: object) -> None:
    ds = LocalDataset(str(make(tmp_path)))
    with pytest.raises(TypeError):
        ds[bad]


def test_split(tmp_path: Path) -> None:
    make(tmp_path / "train", 10)
    make(tmp_path / "val", 3)
    assert len(LocalDataset(str(tmp_path), split="train")) == 10
    assert len(LocalDataset(str(tmp_path), split="val")) == 3


@pytest.mark.parametrize("compression", ["zstd", "gz:1", "br", "bz2", "snappy"])
def test_reads_compressed_shards_by_decompressing_beside_them(
    tmp_path: Path, compression: str
) -> None:
    path = make(tmp_path, compression=compression)
    ext = compression.split(":")[0]
    ds = LocalDataset(str(path), validate_hash=None)
    assert not any(name.endswith(".mds") for name in os.listdir(path))
    assert ds[25] == {"id": 25, "blob": bytes([25]) * 8}
    assert ids(list(ds)) == list(range(40))
    names = set(os.listdir(path))
    for shard in ds.shards:
        raw = shard.entry["raw_data"]["basename"]
        assert raw in names and f"{raw}.{ext}" in names
        assert os.path.getsize(path / raw) == shard.entry["raw_data"]["bytes"]


def test_reads_compressed_shards_from_memory_when_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make(tmp_path / "ds", compression="zstd", hashes=["xxh64"])
    from streaming.format import shard as shard_module

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError("read-only file system")  # tests run as root, so modes can't

    monkeypatch.setattr(shard_module, "write_atomic", refuse)
    ds = LocalDataset(str(path), validate_hash="xxh64")
    assert ids(list(ds)) == list(range(40))
    assert ds[33]["blob"] == bytes([33]) * 16
    assert not any(name.endswith(".mds") for name in os.listdir(path))


def test_json_dataset(tmp_path: Path) -> None:
    with JSONWriter(out=str(tmp_path), columns={"t": "str", "n": "float"}, size_limit=100) as w:
        for i in range(12):
            w.write({"t": f"row {i}", "n": i / 4})
    ds = LocalDataset(str(tmp_path))
    assert [r["n"] for r in ds] == [i / 4 for i in range(12)]
    assert ds[7] == {"n": 1.75, "t": "row 7"}


def test_pickles_without_open_files(tmp_path: Path) -> None:
    ds = LocalDataset(str(make(tmp_path)))
    assert ds[20]["id"] == 20  # opens (memory-maps) a shard
    clone = pickle.loads(pickle.dumps(ds))
    assert ids(list(clone)) == list(range(40))
    assert clone[-3] == ds[-3]


def test_missing_index_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="No index at .*index.json"):
        LocalDataset(str(tmp_path))


def test_missing_shard_names_it(tmp_path: Path) -> None:
    path = make(tmp_path)
    os.unlink(path / "shard.00002.mds")
    ds = LocalDataset(str(path))
    assert ds[0]["id"] == 0
    with pytest.raises(FileNotFoundError, match="shard.00002.mds.*shard 2"):
        list(ds)
