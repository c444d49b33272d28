"""merge_index in both call forms: one index over a dataset written in parts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streaming import CSVWriter, LocalDataset, MDSWriter, merge_index


def write_parts(root: Path, parts: int = 3, per_part: int = 7, fmt: str = "mds") -> None:
    for p in range(parts):
        out = str(root / f"part-{p:02}")
        if fmt == "mds":
            writer = MDSWriter(out=out, columns={"id": "int"}, size_limit=100)
        else:
            writer = CSVWriter(out=out, columns={"id": "int"}, size_limit=30)
        with writer:
            for i in range(per_part):
                writer.write({"id": p * per_part + i})


def test_merge_from_root(tmp_path: Path) -> None:
    write_parts(tmp_path)
    merge_index(str(tmp_path))
    raw = (tmp_path / "index.json").read_text()
    obj = json.loads(raw)
    assert raw == json.dumps(obj)  # the peer writes merged indexes without sort_keys
    names = [s["raw_data"]["basename"] for s in obj["shards"]]
    assert names[0] == "part-00/shard.00000.mds" and names[-1].startswith("part-02/")
    assert [r["id"] for r in LocalDataset(str(tmp_path))] == list(range(21))


def test_merge_from_list_keeps_the_given_order(tmp_path: Path) -> None:
    write_parts(tmp_path)
    files = [str(tmp_path / f"part-{p:02}" / "index.json") for p in (2, 0, 1)]
    merge_index(files, str(tmp_path))
    expected = list(range(14, 21)) + list(range(0, 14))
    assert [r["id"] for r in LocalDataset(str(tmp_path))] == expected


def test_merge_split_format_renames_meta_files_too(tmp_path: Path) -> None:
    write_parts(tmp_path, fmt="csv")
    merge_index(str(tmp_path))
    shard = json.loads((tmp_path / "index.json").read_text())["shards"][0]
    assert shard["raw_meta"]["basename"] == "part-00/shard.00000.csv.meta"
    assert [r["id"] for r in LocalDataset(str(tmp_path))] == list(range(21))


def test_merge_nested_parts_keep_their_relative_path(tmp_path: Path) -> None:
    write_parts(tmp_path / "a" / "b", parts=2)
    merge_index(str(tmp_path))
    names = [
        s["raw_data"]["basename"]
        for s in json.loads((tmp_path / "index.json").read_text())["shards"]
    ]
    assert names[0] == "a/b/part-00/shard.00000.mds"
    assert len(LocalDataset(str(tmp_path))) == 14


def test_merge_ignores_an_earlier_merged_index(tmp_path: Path) -> None:
    write_parts(tmp_path)
    merge_index(str(tmp_path))
    merge_index(str(tmp_path))
    assert len(LocalDataset(str(tmp_path))) == 21


def test_merge_uploads_to_a_remote(tmp_path: Path) -> None:
    write_parts(tmp_path / "local")
    merge_index((str(tmp_path / "local"), f"file://{tmp_path / 'remote'}"))
    assert (tmp_path / "remote" / "index.json").read_bytes() == (
        tmp_path / "local" / "index.json"
    ).read_bytes()


def test_merge_reads_remote_part_indexes(tmp_path: Path) -> None:
    write_parts(tmp_path / "remote")
    urls = [f"file://{tmp_path / 'remote' / f'part-{p:02}' / 'index.json'}" for p in range(3)]
    merge_index(urls, str(tmp_path / "remote"))
    assert len(LocalDataset(str(tmp_path / "remote"))) == 21


def test_merge_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no part index.json"):
        merge_index(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        merge_index([str(tmp_path / "nope" / "index.json")], str(tmp_path))
    with pytest.raises(ValueError, match="Invalid arguments to merge_index"):
        merge_index(42)
