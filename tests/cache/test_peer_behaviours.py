"""Issue 15: the cache behaves as the peer's (mosaicml-streaming 0.13) where users see it:
`cache_limit` counts ``index.json`` and eviction brings usage down to the limit, a shard deleted
during an epoch is fetched again, nothing is written into `local` but the dataset's files, and
the public eviction API (`NodeCache.evict`, `evict_coldest`)."""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

import pytest

from streaming import StreamingDataset
from streaming.cache.node_cache import NothingToEvictError, ShardInUseError
from tests.cache._backends import fetch_log
from tests.cache.conftest import url


def _names(root: Path) -> list[str]:
    with open(root / "index.json") as f:
        return [s["raw_data"]["basename"] for s in json.load(f)["shards"]]


def _disk(local: Path) -> int:
    """Bytes of every finished file in `local` (what a user's ``du`` sees)."""
    total = 0
    for name in os.listdir(local):
        if ".tmp-" not in name:
            with contextlib.suppress(FileNotFoundError):  # evicted meanwhile
                total += os.path.getsize(local / name)
    return total


def test_the_limit_counts_index_json_and_is_never_exceeded(remote: Path, tmp_path: Path) -> None:
    names = _names(remote)
    largest = max(os.path.getsize(remote / n) for n in names)
    index = os.path.getsize(remote / "index.json")
    limit = 5 * largest  # five shards fit only if index.json is left out of the count
    local = tmp_path / "c"
    ds = StreamingDataset(
        remote=url(remote), local=str(local), batch_size=1, cache_limit=limit, predownload=1
    )
    ids = []
    for sample in ds:
        ids.append(sample["id"])
        assert _disk(local) <= limit  # the peer: cache_usage starts at the index sizes
    assert ids == list(range(300))
    present = sorted(n for n in os.listdir(local) if n.endswith(".mds"))
    assert present == names[2:]  # 4 shards + index.json fit: the two coldest went
    kept = sum(os.path.getsize(remote / n) for n in names[2:])
    assert ds._cache.usage() == _disk(local) == index + kept


def test_a_shard_deleted_during_an_epoch_is_fetched_again(remote: Path, tmp_path: Path) -> None:
    names = _names(remote)
    local = tmp_path / "c"
    warm = StreamingDataset(remote=url(remote), local=str(local), batch_size=1)
    assert len(list(warm)) == 300  # an earlier job left every shard in the cache
    ds = StreamingDataset(remote=url(remote), local=str(local), batch_size=1, predownload=300)
    it = iter(ds)
    assert next(it)["id"] == 0
    deadline = time.monotonic() + 30
    while ds._cache.stats()["hits"] < len(names) and time.monotonic() < deadline:
        time.sleep(0.01)  # the prefetcher has found every shard of the epoch in the cache
    assert ds._cache.stats() == {"hits": len(names), "misses": 0, "bytes_downloaded": 0}
    for name in names:
        os.remove(local / name)  # the user (or another process) deletes the cached shards
    assert [s["id"] for s in it] == list(range(1, 300))  # the epoch goes on
    assert [s["id"] for s in ds] == list(range(300))  # the next epoch fetches them again
    assert fetch_log(str(remote)) == ["index.json", *names, *names]
    assert sorted(os.listdir(local)) == sorted(["index.json", *names])  # no .streaming


def test_evict_and_evict_coldest(remote: Path, tmp_path: Path) -> None:
    names = _names(remote)
    local = tmp_path / "c"
    ds = StreamingDataset(remote=url(remote), local=str(local), batch_size=1)
    cache = ds._cache
    with pytest.raises(NothingToEvictError, match="no shard is cached"):
        cache.evict_coldest()
    for shard in range(3):
        cache.prepare(shard)
        os.utime(local / names[shard], (1000 + shard, 1000 + shard))
    assert cache.evict(1) == os.path.getsize(remote / names[1])
    assert not (local / names[1]).exists()
    assert cache.evict(1) == 0  # not cached: nothing freed
    cache.acquire(0)
    with pytest.raises(ShardInUseError, match=r"Shard 0 \(.*\) is in use by a reader"):
        cache.evict(0)
    assert cache.evict_coldest() == os.path.getsize(remote / names[2])  # 0 is in use
    with pytest.raises(NothingToEvictError, match="every cached shard is in use"):
        cache.evict_coldest()
    cache.release(0)
    assert cache.evict_coldest() == os.path.getsize(remote / names[0])
    assert ds[0]["id"] == 0 and ds[299]["id"] == 299  # evicted shards are fetched again

