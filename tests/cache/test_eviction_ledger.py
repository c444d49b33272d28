"""Issue 12, item 4: eviction under `cache_limit` reads usage and LRU order from the directory's
ledger, not from a stat of every shard: a fetch costs the same system calls with 9 or 59 shards
cached; a process SIGKILLed mid-update loses no data and leaves a ledger the next one reads
right; local-only data is never evicted whatever a ledger says; and after random fetches and
evictions by 3 processes the ledger lists exactly the files on disk, with their sizes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from streaming import Stream, StreamingDataset
from streaming.cache.ledger import Ledger
from tests.cache.conftest import finish, start, url, write_dataset


def _names(root: Path) -> list[str]:
    with open(root / "index.json") as f:
        return [s["raw_data"]["basename"] for s in json.load(f)["shards"]]


def _disk(local: Path) -> dict[str, int]:
    """Name and size of every finished file in `local` (what a user's ``du`` sees)."""
    found = {}
    for name in os.listdir(local):
        if ".tmp-" not in name:
            with contextlib.suppress(FileNotFoundError):  # evicted meanwhile
                found[name] = os.path.getsize(local / name)
    return found


@contextlib.contextmanager
def _stat_calls() -> Iterator[list[str]]:
    """Record every stat-family call and open of this process in the block (as strace would
    see them)."""
    calls: list[str] = []
    names = ("stat", "lstat", "fstat", "open", "listdir", "scandir")
    reals = {fn: getattr(os, fn) for fn in names}
    for fn, real in reals.items():

        def counting(*args, _real=real, _fn=fn, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(_fn)
            return _real(*args, **kwargs)

        setattr(os, fn, counting)
    try:
        yield calls
    finally:
        for fn, real in reals.items():
            setattr(os, fn, real)


def _fetch_with_a_full_cache(root: Path, cached: int) -> dict[str, int]:
    """With `cached` one-sample shards cached (the limit), the system calls of the process
    while it reads one more (a miss: evict shard 0, fetch it)."""
    remote = root / "remote"
    write_dataset(remote, n=cached + 1, size_limit=250)  # one sample per shard
    names = _names(remote)
    assert len(names) == cached + 1
    size = os.path.getsize(remote / names[0])
    assert {os.path.getsize(remote / n) for n in names} == {size}
    local = root / "c"
    index = os.path.getsize(remote / "index.json")
    ds = StreamingDataset(
        remote=url(remote), local=str(local), batch_size=1, cache_limit=cached * size + index
    )
    for i in range(cached):
        assert ds[i]["id"] == i  # the cache is full
    with _stat_calls() as calls:
        assert ds[cached]["id"] == cached
    assert sorted(n for n in os.listdir(local) if n.endswith(".mds")) == names[1:]
    return {fn: calls.count(fn) for fn in set(calls)}


def test_a_fetch_costs_the_same_system_calls_whatever_is_cached(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()  # same path lengths: same calls to resolve them
    few = _fetch_with_a_full_cache(tmp_path / "a", 9)
    many = _fetch_with_a_full_cache(tmp_path / "b", 59)
    # Before the ledger, each fetch stat-ed every shard's file: 50 more calls with 59 shards.
    assert many == few
    assert sum(few.values()) < 9 * 15


# Tears the first ledger append that matches TARGET (half of it is written) and SIGKILLs the
# process: a crash in the middle of a ledger update.
CRASH = """
import re, signal
real_write = os.write
def tearing_write(fd, data):
    if re.match(TARGET, bytes(data)):
        real_write(fd, bytes(data)[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    return real_write(fd, data)
os.write = tearing_write
ds = StreamingDataset(remote=REMOTE, local=LOCAL, batch_size=1, cache_limit=LIMIT, predownload=1)
for sample in ds:
    pass
print("not killed")
"""


@pytest.mark.parametrize(
    "torn",
    [
        pytest.param(rb"(!\n)?\+ \d+ shard\.00002\.mds ", id="the record of a download"),
        pytest.param(rb"(!\n)?- 0 shard\.00000\.mds ", id="the record of an eviction"),
    ],
)
def test_a_process_killed_mid_update_loses_nothing(
    remote: Path, tmp_path: Path, torn: bytes
) -> None:
    names = _names(remote)
    size = max(os.path.getsize(remote / n) for n in names)
    limit = 4 * size + os.path.getsize(remote / "index.json")
    local = tmp_path / "c"
    crashed = start(
        f"REMOTE, LOCAL, LIMIT, TARGET = {url(remote)!r}, {str(local)!r}, {limit}, {torn!r}\n"
        + CRASH
    )
    out, err = crashed.communicate(timeout=120)
    assert crashed.returncode == -signal.SIGKILL, err[-3000:]
    ledger = Ledger(str(local))
    with open(ledger.path, "rb") as f:
        assert not f.read().endswith(b"\n")  # the torn line is there
    ds = StreamingDataset(
        remote=url(remote), local=str(local), batch_size=1, cache_limit=limit, predownload=1
    )
    for shard in (5, 4, 3):  # shards the killed process never fetched first
        assert ds[50 * shard]["id"] == 50 * shard
        assert sum(_disk(local).values()) <= limit
    ids = []
    for sample in ds:
        ids.append(sample["id"])
        assert sum(_disk(local).values()) <= limit
    assert ids == list(range(300))  # every sample, from the cache or fetched again
    assert ledger.files() == _disk(local)  # the torn line ignored, every file accounted
    assert ds._cache.usage() == ds._cache.usage_on_disk() == sum(_disk(local).values())


def test_local_only_data_is_never_evicted_whatever_its_ledger_says(tmp_path: Path) -> None:
    mine, other = tmp_path / "mine", tmp_path / "other"
    write_dataset(mine, n=100)
    write_dataset(other)
    # An earlier job used `mine` as a cache: its ledger lists every shard file there.
    assert len(list(StreamingDataset(remote=url(other), local=str(mine / "x"), batch_size=1)))
    ledger = Ledger(str(mine))
    ledger.add({name: os.path.getsize(mine / name) for name in _names(mine)})
    before = {name: (mine / name).read_bytes() for name in os.listdir(mine) if name != "x"}
    names = _names(other)
    size = max(os.path.getsize(other / n) for n in names)
    limit = 2 * size + 4096
    ds = StreamingDataset(
        streams=[Stream(remote=url(other), local=str(tmp_path / "c")), Stream(local=str(mine))],
        batch_size=1,
        cache_limit=limit,
        predownload=1,
    )
    assert sorted(s["id"] for s in ds) == sorted([*range(300), *range(100)])
    assert sorted(s["id"] for s in ds) == sorted([*range(300), *range(100)])  # nothing lost
    assert {name: (mine / name).read_bytes() for name in before} == before
    assert ds._cache.usage() == ds._cache.usage_on_disk() <= limit
    assert sum(_disk(tmp_path / "c").values()) == ds._cache.usage()


# Random reads (fetching on a miss, evicting to make room) and evictions, checking that the
# files on disk never exceed the limit.
RANDOM = """
import contextlib, random
from streaming.cache.node_cache import ShardInUseError
def disk():
    total = 0
    for name in os.listdir(LOCAL):
        if ".tmp-" not in name:
            with contextlib.suppress(FileNotFoundError):
                total += os.path.getsize(os.path.join(LOCAL, name))
    return total
ds = StreamingDataset(remote=REMOTE, local=LOCAL, batch_size=1, cache_limit=LIMIT)
rng = random.Random(SEED)
for step in range(60):
    if rng.random() < 0.75:
        i = rng.randrange(300)
        assert ds[i]["id"] == i
    else:
        with contextlib.suppress(ShardInUseError):
            ds._cache.evict(rng.randrange(ds.num_shards))
    assert disk() <= LIMIT, (step, disk(), LIMIT)
print("ok")
"""


@pytest.mark.slow
def test_the_ledger_matches_the_disk_after_random_fetches_and_evictions_by_3_processes(
    tmp_path: Path,
) -> None:
    remote = tmp_path / "small"
    write_dataset(remote, size_limit=700)  # 300 samples in 30 shards
    names = _names(remote)
    size = max(os.path.getsize(remote / n) for n in names)
    limit = 4 * size + os.path.getsize(remote / "index.json")
    local = tmp_path / "c"
    StreamingDataset(remote=url(remote), local=str(local), batch_size=1)  # index.json
    procs = [
        start(f"REMOTE, LOCAL, LIMIT, SEED = {url(remote)!r}, {str(local)!r}, {limit}, {seed}\n"
              + RANDOM)  # fmt: skip
        for seed in range(3)
    ]
    for proc in procs:
        assert finish(proc).strip() == "ok"
    on_disk = _disk(local)
    assert Ledger(str(local)).files() == on_disk
    ds = StreamingDataset(remote=url(remote), local=str(local), batch_size=1, cache_limit=limit)
    assert ds._cache.usage() == ds._cache.usage_on_disk() == sum(on_disk.values()) <= limit


def test_a_use_by_another_process_counts_in_the_lru_order(remote: Path, tmp_path: Path) -> None:
    names = _names(remote)
    size = max(os.path.getsize(remote / n) for n in names)
    local = tmp_path / "c"
    limit = 4 * size + os.path.getsize(remote / "index.json")
    ds = StreamingDataset(remote=url(remote), local=str(local), batch_size=1, cache_limit=limit)
    for shard in range(4):
        assert ds[50 * shard]["id"] == 50 * shard  # shards 0 to 3 cached, 0 the coldest
    other = start(
        f"""
        ds = StreamingDataset(
            remote={url(remote)!r}, local={str(local)!r}, batch_size=1, cache_limit={limit}
        )
        ds._cache.acquire(0)  # found cached: a use, buffered
        ds._cache.release_all()  # writes the buffered uses
        print("used", flush=True)
        """
    )
    assert finish(other).strip() == "used"
    assert ds[200]["id"] == 200  # no room for shard 4: the coldest idle shard goes
    assert sorted(n for n in os.listdir(local) if n.endswith(".mds")) == [
        names[0], *names[2:5]
    ]  # 1, not 0: the other process used 0 after 1 was fetched


def test_compaction_keeps_usage_and_lru_order(tmp_path: Path) -> None:
    dirname = str(tmp_path / "data")
    ledger, reader = Ledger(dirname), Ledger(dirname)  # a writer's and another process's view
    ledger.add({f"s{i}": 10 + i for i in range(5)})
    for round_ in range(298):  # the last uses: s3, s4, s0, s1, s2
        ledger.use([(f"s{round_ % 5}", round_), ("gone", round_)])
    ledger.remove(["s2"])
    reader.refresh()
    assert not ledger.maybe_compact()  # 602 lines: under 4 per live file + 1024
    ledger.refresh()
    assert ledger.maybe_compact(slack=0)
    with open(ledger.path, encoding="utf-8") as f:
        assert f.read() == "+ 13 s3\n+ 14 s4\n+ 10 s0\n+ 11 s1\n"  # least recently used first
    ledger.use([("s3", 999)])
    reader.refresh()  # replays the compacted log from its start
    assert [name for name, _ in reader.coldest()] == ["s4", "s0", "s1", "s3"]
    assert reader.usage() == ledger.usage() == 48


def test_a_cached_shard_missing_from_the_ledger_is_adopted_on_its_next_use(
    remote: Path, tmp_path: Path
) -> None:
    names = _names(remote)
    local = tmp_path / "c"
    warm = StreamingDataset(remote=url(remote), local=str(local), batch_size=1)
    assert len(list(warm)) == 300
    for shard in (3, 4, 5):
        warm._cache.evict(shard)  # shards 0 to 2 stay cached
    ledger = Ledger(str(local))
    with open(ledger.path, encoding="utf-8") as f:
        lines = f.readlines()
    with open(ledger.path, "w", encoding="utf-8") as f:  # its record was lost (a crash)
        f.writelines(line for line in lines if names[2] not in line)
    assert names[2] not in ledger.files() and (local / names[2]).exists()
    size = max(os.path.getsize(remote / n) for n in names)
    limit = 4 * size + os.path.getsize(remote / "index.json")
    ds = StreamingDataset(
        remote=url(remote), local=str(local), batch_size=1, cache_limit=limit, predownload=1
    )
    ids = []
    for sample in ds:
        ids.append(sample["id"])
        assert sum(_disk(local).values()) <= limit
    assert ids == list(range(300))
    assert ledger.files() == _disk(local)  # shard 2 was counted, then evicted like the others
    assert sum(_disk(local).values()) <= limit
