"""The usage accounting lists every shard's files from the index text, not from the readers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streaming import JSONWriter, MDSWriter
from streaming.cache.accounting import Accounting, shard_files
from streaming.format import index_names
from streaming.format.index_table import IndexFormatError
from streaming.format.reader import open_shards
from streaming.format.shard_list import ShardChain


def _write(root: Path) -> tuple[Path, Path]:
    mds, jsonl = root / "mds", root / "jsonl"
    with MDSWriter(out=str(mds), columns={"x": "int"}, compression="zstd", size_limit=200) as w:
        for i in range(60):
            w.write({"x": i})
    with JSONWriter(out=str(jsonl), columns={"x": "int"}, size_limit=200) as w:
        for i in range(60):
            w.write({"x": i})
    return mds, jsonl


def _expected(dirnames: list[Path]) -> dict[tuple[str, str], int]:
    owner, base = {}, 0
    for dirname in dirnames:
        shards = open_shards(str(dirname))
        for i, shard in enumerate(shards):
            for name in shard_files(shard):
                owner[(shard.dirname, name)] = base + i
        base += len(shards)
    return owner


def test_the_owner_of_every_file_matches_the_readers_and_no_reader_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mds, jsonl = _write(tmp_path)
    monkeypatch.setattr(index_names, "CHUNK", 3)  # several decoder calls per index
    lists = [open_shards(str(mds)), open_shards(str(jsonl))]
    built = [len(s._built) for s in lists]
    chain = ShardChain([ShardChain([lists[0]]), lists[1]])
    book = Accounting(chain, [True] * len(chain))
    assert [len(s._built) for s in lists] == built
    expected = _expected([mds, jsonl])
    assert book._owner == expected
    names = {name for _, name in expected}
    assert any(name.endswith(".zstd") for name in names)  # compressed data files
    assert any(name.endswith(".json.meta") for name in names)  # split formats' meta files


def test_shards_of_local_only_streams_are_not_counted(tmp_path: Path) -> None:
    mds, jsonl = _write(tmp_path)
    lists = [open_shards(str(mds)), open_shards(str(jsonl))]
    book = Accounting(ShardChain(lists), [True] * len(lists[0]) + [False] * len(lists[1]))
    assert {dirname for dirname, _ in book._owner} == {str(mds)}


def test_an_index_changed_after_it_was_read_is_named(tmp_path: Path) -> None:
    mds, _ = _write(tmp_path)
    shards = open_shards(str(mds))
    index = mds / "index.json"
    obj = json.loads(index.read_text())
    index.write_text(json.dumps(obj, indent=2))
    with pytest.raises(IndexFormatError, match="index.json.*changed after it was read"):
        list(index_names.shard_file_names(shards.table))


def test_text_that_does_not_decode_as_a_run_of_entries_is_read_entry_by_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mds, _ = _write(tmp_path)
    shards = open_shards(str(mds))
    expected = [shard_files(shard) for shard in open_shards(str(mds))]

    class Undecodable:
        @staticmethod
        def decode(_text: bytes) -> list:
            raise index_names.msgspec.DecodeError("not a run of entries")

    monkeypatch.setattr(index_names, "_DECODE", Undecodable())
    assert list(index_names.shard_file_names(shards.table)) == expected
