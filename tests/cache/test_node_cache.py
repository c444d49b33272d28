"""The node cache across processes: fetched once per node, download-ahead, LRU eviction that
spares shards in use and local-only data, refetching bad downloads."""

from __future__ import annotations

import filecmp
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from torch.utils.data import DataLoader

from streaming import Stream, StreamingDataset
from streaming.format.errors import HashMismatchError
from tests.cache._backends import fetch_log
from tests.cache.conftest import finish, start, url, write_dataset


def shard_names(root: Path) -> list[str]:
    with open(root / "index.json") as f:
        return [s["raw_data"]["basename"] for s in json.load(f)["shards"]]


def test_each_shard_fetched_once_per_node_by_four_ranks(remote: Path, tmp_path: Path) -> None:
    (Path(str(remote) + ".slow")).write_text("0.05")  # downloads overlap
    local = tmp_path / "cache"
    script = f"""
    ds = StreamingDataset(remote={url(remote)!r}, local={str(local)!r}, batch_size=4,
                          shuffle=True, predownload=8)
    print(json.dumps([s["id"] for s in ds]))
    """
    env = {"WORLD_SIZE": "4", "LOCAL_WORLD_SIZE": "4"}
    procs = [start(script, RANK=str(rank), **env) for rank in range(4)]
    seen = [json.loads(finish(p)) for p in procs]
    assert sorted(i for ids in seen for i in ids) == list(range(300))
    log = fetch_log(str(remote))
    assert sorted(log) == sorted(["index.json", *shard_names(remote)])  # each exactly once


def test_each_shard_fetched_once_with_ranks_and_workers(remote: Path, tmp_path: Path) -> None:
    local = tmp_path / "cache"
    script = f"""
    from torch.utils.data import DataLoader
    ds = StreamingDataset(remote={url(remote)!r}, local={str(local)!r}, batch_size=5,
                          shuffle=True, shuffle_algo="py1s")
    ids = [int(i) for batch in DataLoader(ds, batch_size=5, num_workers=2) for i in batch["id"]]
    print(json.dumps(ids))
    """
    env = {"WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2"}
    procs = [start(script, RANK=str(rank), **env) for rank in range(2)]
    seen = [json.loads(finish(p)) for p in procs]
    assert {i for ids in seen for i in ids} == set(range(300))  # (with padding repeats)
    assert sorted(fetch_log(str(remote))) == sorted(["index.json", *shard_names(remote)])


def test_predownload_fetches_within_its_window_and_one_shard_ahead(
    remote: Path, tmp_path: Path
) -> None:
    def settle(expected: list[str]) -> None:
        deadline = time.monotonic() + 10
        while fetch_log(str(remote)) != expected and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # and nothing more
        assert fetch_log(str(remote)) == expected

    ds = StreamingDataset(
        remote=url(remote), local=str(tmp_path / "c"), batch_size=1, predownload=10
    )
    names = shard_names(remote)
    assert ds.samples_per_shard[0] == 50  # the positions below rely on it
    it = iter(ds)
    assert next(it)["id"] == 0
    # The reader started shard 0: shard 1 is on its way (its first sample, 50, is beyond the
    # 10-sample window, but one whole shard is always fetched ahead); shard 2 is not.
    settle(["index.json", names[0], names[1]])
    assert [next(it)["id"] for _ in range(49)] == list(range(1, 50))
    settle(["index.json", names[0], names[1]])
    assert next(it)["id"] == 50  # the reader starts shard 1: shard 2 goes
    settle(["index.json", *names[:3]])
    assert [s["id"] for s in it] == list(range(51, 300))


def test_eviction_keeps_usage_under_the_limit_without_thrashing(
    remote: Path, tmp_path: Path
) -> None:
    names = shard_names(remote)
    largest = max(os.path.getsize(remote / n) for n in names)
    limit = 4 * largest + os.path.getsize(remote / "index.json")
    ds = StreamingDataset(
        remote=url(remote), local=str(tmp_path / "c"), batch_size=1, cache_limit=limit,
        predownload=1,
    )
    ids = []
    for sample in ds:
        ids.append(sample["id"])
        assert ds._cache.usage() <= limit
    assert ids == list(range(300))
    assert fetch_log(str(remote)) == ["index.json", *names]  # each once: no thrashing
    present = sorted(n for n in os.listdir(tmp_path / "c") if n.endswith(".mds"))
    assert present == names[-len(present) :] and len(present) < len(names)  # oldest went first


def test_lru_order_and_shards_in_use_are_spared(remote: Path, tmp_path: Path) -> None:
    names = shard_names(remote)
    size = max(os.path.getsize(remote / n) for n in names)
    local = tmp_path / "c"
    ds = StreamingDataset(remote=url(remote), local=str(local), batch_size=1)
    cache = ds._cache
    for shard in range(4):
        cache.acquire(shard)
        cache.release(shard)
        os.utime(local / names[shard], (1000 + shard, 1000 + shard))
    cache.acquire(0)  # shard 0: in use (and touched: most recent)
    holder = start(
        f"""
        ds = StreamingDataset(remote={url(remote)!r}, local={str(local)!r}, batch_size=1)
        ds._cache.acquire(1)
        print("held", flush=True)
        time.sleep(60)
        """
    )
    assert holder.stdout.readline().strip() == "held"  # another process reads shard 1
    try:
        index = (local / "index.json").stat().st_size  # counted in the limit, as the peer
        cache.cache_limit = 4 * size + index
        cache.acquire(4)  # room for one more: shard 2 (oldest idle) goes, 0 and 1 stay
        assert not (local / names[2]).exists()
        assert all((local / names[i]).exists() for i in (0, 1, 3, 4))
        cache.cache_limit = 2 * size + index
        with pytest.warns(UserWarning, match="in use"):
            cache.acquire(5)  # 3 is idle and goes; 0, 1 and 4 are in use: over the limit
        assert not (local / names[3]).exists()
        assert all((local / names[i]).exists() for i in (0, 1, 4, 5))
    finally:
        holder.kill()
        holder.communicate()


def test_local_only_data_is_never_evicted(remote: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    write_dataset(mine, n=100)
    names = shard_names(remote)
    largest = max(os.path.getsize(remote / n) for n in names)
    ds = StreamingDataset(
        streams=[
            Stream(remote=url(remote), local=str(tmp_path / "c")),
            Stream(local=str(mine)),  # exists only here
        ],
        batch_size=1,
        cache_limit=4 * largest + 4096,
        predownload=1,
    )
    before = sorted(os.listdir(mine))
    assert sorted(s["id"] for s in ds) == sorted([*range(300), *range(100)])
    assert sorted(os.listdir(mine)) == before
    assert ds._cache.usage() <= 4 * largest + 4096


@pytest.mark.parametrize("keep_zip", [False, True])
def test_compressed_shards_and_keep_zip(tmp_path: Path, keep_zip: bool) -> None:
    remote = tmp_path / "remote"
    write_dataset(remote, compression="zstd")
    local = tmp_path / "c"
    ds = StreamingDataset(
        remote=url(remote), local=str(local), batch_size=4, keep_zip=keep_zip,
        validate_hash="xxh64",
    )
    assert [s["id"] for s in ds] == list(range(300))
    files = os.listdir(local)
    assert any(f.endswith(".mds") for f in files)
    assert any(f.endswith(".mds.zstd") for f in files) == keep_zip
    assert all(not f.endswith(".mds") for f in fetch_log(str(remote)))  # only zips travel


def test_a_corrupt_download_is_fetched_again(remote: Path, tmp_path: Path) -> None:
    (Path(str(remote) + ".corrupt")).write_text("1")  # first fetch of each shard is bad
    local = tmp_path / "c"
    ds = StreamingDataset(
        remote=url(remote), local=str(local), batch_size=4, validate_hash="xxh64",
        download_retry=2,
    )
    assert [s["id"] for s in ds] == list(range(300))
    names = shard_names(remote)
    assert sorted(fetch_log(str(remote))) == sorted(["index.json", *names, *names])
    assert all(filecmp.cmp(remote / n, local / n, shallow=False) for n in names)


def test_a_shard_that_stays_corrupt_is_reported_by_name(remote: Path, tmp_path: Path) -> None:
    (Path(str(remote) + ".corrupt")).write_text("99")
    ds = StreamingDataset(
        remote=url(remote), local=str(tmp_path / "c"), batch_size=4, validate_hash="xxh64",
        download_retry=3,
    )
    name = shard_names(remote)[0]
    with pytest.raises(HashMismatchError, match=rf"{name}.*shard 0.*after 3 fetches"):
        list(ds)
    assert fetch_log(str(remote)).count(name) == 3
    assert not (tmp_path / "c" / name).exists()  # nothing bad is left to be taken as good


def test_random_access_fetches_on_demand(remote: Path, tmp_path: Path) -> None:
    ds = StreamingDataset(remote=url(remote), local=str(tmp_path / "c"), batch_size=4)
    assert [ds[i]["id"] for i in (299, 0, 150, -1)] == [299, 0, 150, 299]
    assert [s["id"] for s in ds[np.array([5, 250])]] == [5, 250]
    names = shard_names(remote)
    assert fetch_log(str(remote)) == ["index.json", names[5], names[0], names[3]]


def test_dataloader_workers_read_remote_data(remote: Path, tmp_path: Path) -> None:
    def read(**where: str) -> list[int]:
        ds = StreamingDataset(**where, batch_size=10, shuffle=True)
        return [int(i) for b in DataLoader(ds, batch_size=10, num_workers=2) for i in b["id"]]

    from_remote = read(remote=url(remote), local=str(tmp_path / "c"))
    assert from_remote == read(local=str(remote))  # the same order as the data read in place
    assert sorted(from_remote) == list(range(300))


def test_resuming_fetches_only_the_shards_still_to_read(remote: Path, tmp_path: Path) -> None:
    ds = StreamingDataset(remote=url(remote), local=str(tmp_path / "c"), batch_size=10)
    ds.load_state_dict(
        {"epoch": 0, "sample_in_epoch": 260, "num_canonical_nodes": 1, "shuffle_seed": 9176}
    )
    assert [s["id"] for s in ds] == list(range(260, 300))
    assert fetch_log(str(remote)) == ["index.json", shard_names(remote)[5]]


def test_a_merged_dataset_with_nested_shard_names(tmp_path: Path) -> None:
    from streaming import merge_index

    remote = tmp_path / "remote"
    for part in range(2):
        write_dataset(remote / f"part-{part:05d}", n=100)
    merge_index(str(remote))
    ds = StreamingDataset(remote=url(remote), local=str(tmp_path / "c"), batch_size=4)
    assert [s["id"] for s in ds] == [*range(100), *range(100)]
    assert (tmp_path / "c" / "part-00001" / "shard.00000.mds").is_file()


def test_cache_stats_count_the_workers_fetches(remote: Path, tmp_path: Path) -> None:
    names = shard_names(remote)
    ds = StreamingDataset(remote=url(remote), local=str(tmp_path / "c"), batch_size=10)
    assert ds.cache_stats() == {"hits": 0, "misses": 0, "bytes_downloaded": 0}
    loader = DataLoader(ds, batch_size=10, num_workers=2)
    assert len([b for b in loader]) == 30
    stats = ds.cache_stats()  # the workers' counters, seen from the main process
    assert stats["misses"] == len(names)
    assert stats["bytes_downloaded"] == sum(os.path.getsize(remote / n) for n in names)
    assert len([b for b in loader]) == 30  # a second epoch: everything is cached
    assert ds.cache_stats()["misses"] == len(names) and ds.cache_stats()["hits"] >= len(names)
