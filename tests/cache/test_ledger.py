"""The ledger of the files the cache wrote into a stream directory: replayed incrementally, a
torn last line is read once complete, compaction keeps the live files."""

from __future__ import annotations

from pathlib import Path

from streaming.cache.ledger import Ledger


def test_ledger_replays_adds_and_removes_incrementally(tmp_path: Path) -> None:
    ledger = Ledger(str(tmp_path / "data"))
    ledger.add({"index.json": 100, "a b/shard.00000.mds": 2000})
    assert ledger.usage() == 2100
    other = Ledger(str(tmp_path / "data"))  # another process's view of the same log
    other.remove(["index.json"])
    other.add({"shard.00001.mds.zstd": 700})
    offset = ledger._offset
    assert ledger.files() == {"a b/shard.00000.mds": 2000, "shard.00001.mds.zstd": 700}
    assert ledger._offset > offset  # only the new lines were read
    with open(ledger.path, "ab") as f:
        f.write(b"+ 5 torn")  # a writer died mid-line
    assert ledger.usage() == 2700
    with open(ledger.path, "ab") as f:
        f.write(b"\n")
    assert ledger.files()["torn"] == 5
    ledger.compact()
    with open(ledger.path, encoding="utf-8") as f:
        assert f.read() == "+ 2000 a%20b/shard.00000.mds\n+ 700 shard.00001.mds.zstd\n+ 5 torn\n"
    assert other.usage() == 2705  # a compacted log is read again from the start
