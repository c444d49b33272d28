"""validate_hash checks every byte served, not only first downloads (issue 14, item 4).

A decompressed shard beside its ``.zstd`` (LocalDataset), or a shard already in the cache from an
earlier run (StreamingDataset), modified at the same size, used to be served with
validate_hash='xxh64'. Each process now checks each file it opens, and a per-node record of
verified file versions (keyed by size, mtime, ctime, inode) spares re-hashing unchanged files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from streaming.cache.verified import VerifiedRecord
from streaming.format import MDSWriter
from streaming.format.errors import HashMismatchError
from streaming.format.hashing import get_hash
from streaming.local import LocalDataset


@pytest.fixture(autouse=True)
def private_cache_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Records go to this test's own per-user cache root."""
    root = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(root))
    return root


def _write(path: Path, compression: str | None) -> None:
    with MDSWriter(
        out=str(path),
        columns={"id": "int", "text": "str"},
        compression=compression,
        hashes=["xxh64"],
        size_limit=400,
    ) as out:
        for i in range(30):
            out.write({"id": i, "text": f"sample {i:04}"})


def _tamper(path: Path) -> None:
    """Change one byte of a sample's text, keeping the size (and the offsets) as they were."""
    data = bytearray(path.read_bytes())
    at = data.rindex(b"sample ") + len(b"sample ")
    data[at] = ord("9") if data[at] != ord("9") else ord("8")
    with open(path, "r+b") as f:  # in place: same inode, same size
        f.write(data)


def test_decompressed_shard_beside_its_zip_is_checked(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    _write(ds, "zstd")
    assert LocalDataset(str(ds), validate_hash="xxh64")[0]["id"] == 0  # decompresses shard 0
    raw = ds / "shard.00000.mds"
    _tamper(raw)
    with pytest.raises(HashMismatchError) as info:
        LocalDataset(str(ds), validate_hash="xxh64")[0]
    message = str(info.value)
    assert f"{str(raw)!r} (shard 0)" in message and "Checksum failure" in message


def test_uncompressed_shard_tampered_after_a_first_check_is_caught(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    _write(ds, None)
    assert [s["id"] for s in LocalDataset(str(ds), validate_hash="xxh64")] == list(range(30))
    raw = ds / "shard.00001.mds"
    st = raw.stat()
    _tamper(raw)
    os.utime(raw, ns=(st.st_atime_ns, st.st_mtime_ns))  # even with its mtime put back
    ds2 = LocalDataset(str(ds), validate_hash="xxh64")
    assert ds2[0]["id"] == 0  # shard 0 is untouched
    with pytest.raises(HashMismatchError, match="shard 1"):
        ds2[ds2.shards[0].samples]  # the first sample of shard 1


def test_record_spares_rehashing_an_unchanged_file(tmp_path: Path, monkeypatch) -> None:
    from streaming.format import shard as shard_module

    ds = tmp_path / "ds"
    _write(ds, None)
    hashed = []
    check_hash = shard_module.check_hash

    def counting_check_hash(algo, data, expected, what):
        hashed.append(what)
        return check_hash(algo, data, expected, what)

    monkeypatch.setattr(shard_module, "check_hash", counting_check_hash)
    first = LocalDataset(str(ds), validate_hash="xxh64")
    list(first)
    assert len(hashed) == len(first.shards)  # each file hashed once
    list(LocalDataset(str(ds), validate_hash="xxh64"))
    assert len(hashed) == len(first.shards)  # a second "process": the record vouches
    _tamper(ds / "shard.00002.mds")
    with pytest.raises(HashMismatchError, match="shard 2"):
        list(LocalDataset(str(ds), validate_hash="xxh64"))
    assert hashed[-1] == f"{str(ds / 'shard.00002.mds')!r} (shard 2)"


def test_record_entry_names_the_version_checked(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    _write(ds, None)
    list(LocalDataset(str(ds), validate_hash="xxh64"))
    path = ds / "shard.00000.mds"
    st = path.stat()
    record = VerifiedRecord(str(ds))
    digest = get_hash("xxh64", path.read_bytes())
    assert record.is_verified(str(path), st, "xxh64", digest)
    assert not record.is_verified(str(path), st, "xxh64", "0" * 16)
    assert not record.is_verified(str(path), st, "sha1", digest)
    # The cache's "last used" touch keeps a valid record valid...
    record.touch(str(path))
    assert record.is_verified(str(path), path.stat(), "xxh64", digest)
    # ...but not one of a changed file.
    _tamper(path)
    record.touch(str(path))
    assert not record.is_verified(str(path), path.stat(), "xxh64", digest)
    entry = json.loads(Path(record._path(str(path))).read_bytes())
    assert sorted(entry) == ["algo", "ctime_ns", "dev", "digest", "ino", "mtime_ns", "size"]
    assert not str(record.folder).startswith(str(ds))  # nothing written into the dataset


def test_cached_shard_tampered_between_runs_is_caught(tmp_path: Path) -> None:
    from streaming.dataset import StreamingDataset

    remote, local = tmp_path / "remote", tmp_path / "local"
    _write(remote, "zstd")
    kwargs = {"remote": str(remote), "local": str(local), "validate_hash": "xxh64", "batch_size": 1}
    first = StreamingDataset(**kwargs)
    assert [first[i]["id"] for i in range(30)] == list(range(30))
    del first
    _tamper(local / "shard.00000.mds")
    second = StreamingDataset(**kwargs)
    with pytest.raises(HashMismatchError, match="shard 0"):
        second[0]


def test_cache_hashes_each_file_once_per_node(tmp_path: Path, monkeypatch) -> None:
    """A later dataset (as a later process or run would) reads the record instead of hashing;
    the cache's "last used" touch keeps the record valid."""
    from streaming.dataset import StreamingDataset
    from streaming.format import shard as shard_module

    remote, local = tmp_path / "remote", tmp_path / "local"
    _write(remote, "zstd")
    hashed = []
    check_hash = shard_module.check_hash

    def counting_check_hash(algo, data, expected, what):
        hashed.append(what)
        return check_hash(algo, data, expected, what)

    monkeypatch.setattr(shard_module, "check_hash", counting_check_hash)
    kwargs = {"remote": str(remote), "local": str(local), "validate_hash": "xxh64", "batch_size": 1}
    first = StreamingDataset(**kwargs)
    assert [first[i]["id"] for i in range(30)] == list(range(30))
    shards = len(first.shards)
    # Each shard: the zip once before decompressing, the decompressed bytes once against the
    # raw hash (then recorded); opening the raw file found the record.
    assert len(hashed) == 2 * shards
    for run in range(2):
        again = StreamingDataset(**kwargs)
        assert [again[i]["id"] for i in range(30)] == list(range(30))
        assert len(hashed) == 2 * shards, f"run {run + 2} hashed again"
