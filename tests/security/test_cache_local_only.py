"""Issue 14, item 3: a `remote` that names the `local` directory in another spelling (trailing
separator, ``file://``, relative path, a symbolic link) is the only copy of the data: eviction
under `cache_limit` and ``streaming cache clean`` never delete any of it, and ``cache clean``
deletes only the files the cache itself downloaded."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from streaming import StreamingDataset
from streaming.cli.main import main
from tests.cache.conftest import write_dataset

SPELLINGS: dict[str, Callable[[Path], str]] = {
    "trailing separator": lambda d: str(d) + "/",
    "file:// URL": lambda d: d.as_uri(),
    "file:// URL with trailing separator": lambda d: d.as_uri() + "/",
    "relative path": lambda d: os.path.join("..", d.parent.name, d.name),
    "dot segments": lambda d: f"{d.parent}/./{d.name}/../{d.name}",
    "symbolic link": lambda d: str(d.parent / "link"),
}


def _files(root: Path) -> dict[str, bytes]:
    return {
        os.path.relpath(os.path.join(p, n), root): Path(p, n).read_bytes()
        for p, _, names in os.walk(root)
        for n in names
    }


@pytest.fixture
def only_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A compressed dataset of 300 samples that exists nowhere else; the working directory is
    a sibling folder (for the relative spelling)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    data = tmp_path / "data" / "only"
    write_dataset(data, compression="zstd")
    (tmp_path / "data" / "link").symlink_to(data)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    return data


@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_eviction_never_deletes_the_only_copy(only_copy: Path, spelling: str) -> None:
    before = _files(only_copy)
    remote = SPELLINGS[spelling](only_copy)
    largest = max(
        s.entry["raw_data"]["bytes"] + s.entry["zip_data"]["bytes"]
        for s in StreamingDataset(local=str(only_copy), batch_size=4).shards
    )
    ds = StreamingDataset(
        remote=remote, local=str(only_copy), batch_size=4, cache_limit=4 * largest + 4096
    )
    assert [s["id"] for s in ds] == list(range(300))
    assert [s["id"] for s in ds] == list(range(300))  # a second epoch: nothing went missing
    after = _files(only_copy)
    assert {n: after[n] for n in before} == before  # every original file, byte for byte
    assert ds._cache.evict(0) == 0  # the public eviction API refuses too
    assert all(not ds._cache.is_remote(i) for i in range(ds.num_shards))
    assert not os.path.exists(os.path.join(only_copy, ".streaming"))


@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_cache_clean_never_deletes_the_only_copy(
    only_copy: Path, spelling: str, capsys: pytest.CaptureFixture
) -> None:
    remote = SPELLINGS[spelling](only_copy)
    ds = StreamingDataset(remote=remote, local=str(only_copy), batch_size=4)
    assert len(list(ds)) == 300
    before = _files(only_copy)
    assert main(["cache", "clean", str(only_copy)]) == 0
    assert main(["cache", "clean", SPELLINGS["trailing separator"](only_copy)]) == 0
    assert main(["cache", "clean", "--all"]) == 0
    assert _files(only_copy) == before
    err = capsys.readouterr().err
    assert f"{only_copy}: no cache of yours there" in err and "0 cache(s) deleted" in err


def test_cache_clean_deletes_only_what_the_cache_downloaded(
    only_copy: Path, tmp_path: Path
) -> None:
    local = tmp_path / "cache"
    local.mkdir()
    (local / "my-notes.txt").write_text("mine")
    (local / "shard.00099.mds").write_text("a file named like a shard, not downloaded")
    ds = StreamingDataset(remote=str(only_copy), local=str(local), batch_size=4)
    assert len(list(ds)) == 300
    assert main(["cache", "clean", str(local)]) == 0
    assert sorted(os.listdir(local)) == ["my-notes.txt", "shard.00099.mds"]
