"""`streaming cache ls|clean`: lists caches of remote data only, never deletes local-only data
or a cache a running job reads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streaming import StreamingDataset
from streaming.cache.inventory import clean_cache, describe_cache, find_caches
from streaming.cli.main import main
from tests.cache.conftest import start, url, write_dataset


def test_ls_and_clean(remote: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = tmp_path / "caches"
    mine = root / "mine"
    write_dataset(mine, n=20)  # local-only: not a cache
    for name in ("a", "b"):
        ds = StreamingDataset(remote=url(remote), local=str(root / name), batch_size=4)
        assert len(list(ds)) == 300
    assert list(find_caches([str(root)])) == [str(root / "a"), str(root / "b")]
    info = describe_cache(str(root / "a"))
    assert info.remote == url(remote) and info.files == 7  # index.json + 6 shards
    assert info.bytes == sum(os.path.getsize(remote / n) for n in os.listdir(remote))
    assert main(["cache", "ls", str(root)]) == 0
    out = capsys.readouterr()
    assert out.out.count(url(remote)) == 2 and "2 cache(s)" in out.err
    with pytest.raises(ValueError, match="not a streaming cache"):
        clean_cache(str(mine))
    assert main(["cache", "clean"]) == 2  # neither paths nor --all
    assert main(["cache", "clean", str(root), "--all", "--older-than", "1d"]) == 0
    assert (root / "a").exists()  # used just now
    assert main(["cache", "clean", str(root / "a")]) == 0
    assert not (root / "a").exists() and (root / "b").exists() and mine.exists()


def test_clean_skips_a_cache_in_use(remote: Path, tmp_path: Path) -> None:
    local = tmp_path / "c"
    job = start(
        f"""
        ds = StreamingDataset(remote={url(remote)!r}, local={str(local)!r}, batch_size=1)
        ds._cache.acquire(0)
        print("held", flush=True)
        time.sleep(60)
        """
    )
    try:
        assert job.stdout.readline().strip() == "held"
        assert main(["cache", "clean", str(local)]) == 1
        assert local.exists()
    finally:
        job.kill()
        job.communicate()
    assert main(["cache", "clean", str(local)]) == 0 and not local.exists()


def test_clean_removes_a_default_cache_and_its_folders(
    remote: Path, private_cache_root: Path, capsys: pytest.CaptureFixture
) -> None:
    ds = StreamingDataset(remote=url(remote), batch_size=4)
    assert len(list(ds)) == 300
    cache = Path(ds.streams[0].local)
    assert cache.parent == private_cache_root / "streaming"
    assert main(["cache", "ls"]) == 0
    assert f"{cache}\t{url(remote)}\t" in capsys.readouterr().out
    assert main(["cache", "clean", "--all"]) == 0
    assert sorted(os.listdir(private_cache_root / "streaming")) == ["meta"]
    assert sorted(os.listdir(remote))[:2] == ["index.json", "shard.00000.mds"]  # the remote
