"""No collisions, no leftovers: unrelated jobs on one machine, train and val in one process, a
job killed with SIGKILL, and a thousand datasets created and dropped in one process."""

from __future__ import annotations

import filecmp
import json
import os
import signal
import time
from pathlib import Path

import pytest

from streaming import StreamingDataset
from tests.cache._backends import fetch_log
from tests.cache.conftest import finish, start, url, write_dataset


def test_train_and_val_in_one_process(tmp_path: Path) -> None:
    for split, n in (("train", 300), ("val", 70)):
        write_dataset(tmp_path / "remote" / split, n=n)
    remote = url(tmp_path / "remote")
    local = str(tmp_path / "cache")
    train = StreamingDataset(remote=remote, local=local, split="train", batch_size=4)
    val = StreamingDataset(remote=remote, local=local, split="val", batch_size=4)
    assert [s["id"] for s in train] == list(range(300))
    assert [s["id"] for s in val] == list(range(70))
    again = StreamingDataset(remote=remote, local=local, split="train", batch_size=4)
    assert len(list(again)) == 300  # the same data again: no "reused directory" error


def test_one_local_directory_for_two_remotes_is_refused(tmp_path: Path) -> None:
    write_dataset(tmp_path / "a", n=10)
    write_dataset(tmp_path / "b", n=10)
    local = str(tmp_path / "cache")
    StreamingDataset(remote=url(tmp_path / "a"), local=local, batch_size=1)
    with pytest.raises(ValueError, match=r"already caches remote .*/a.*give each remote its own"):
        StreamingDataset(remote=url(tmp_path / "b"), local=local, batch_size=1)


def test_unrelated_jobs_at_once_with_default_local(tmp_path: Path) -> None:
    remotes = []
    for name, n in (("a", 300), ("b", 120)):
        write_dataset(tmp_path / name, n=n)
        Path(str(tmp_path / name) + ".slow").write_text("0.02")
        remotes.append(tmp_path / name)
    script = """
    ds = StreamingDataset(remote=sys.argv[1], batch_size=4, shuffle=True)
    print(json.dumps(sorted(s["id"] for s in ds)))
    """
    tmp = str(tmp_path / "tmp")
    os.makedirs(tmp)
    procs = []
    for remote in (*remotes, remotes[0]):  # two jobs on the same remote, one on another
        proc = start(script.replace("sys.argv[1]", repr(url(remote))), XDG_CACHE_HOME=tmp)
        procs.append(proc)
    a1, b, a2 = (json.loads(finish(p)) for p in procs)
    assert a1 == a2 == list(range(300)) and b == list(range(120))
    # one private cache directory per remote (and the records' folder)
    assert len(os.listdir(os.path.join(tmp, "streaming"))) == 3
    assert oct(os.stat(os.path.join(tmp, "streaming")).st_mode & 0o777) == "0o700"
    assert sorted(fetch_log(str(remotes[0]))).count("index.json") == 1  # shared, fetched once


def test_a_job_killed_mid_download_leaves_nothing_that_breaks_the_next(
    remote: Path, tmp_path: Path
) -> None:
    local = tmp_path / "cache"
    # index.json first, so that the stalled download below is a shard's.
    StreamingDataset(remote=url(remote), local=str(local), batch_size=1)
    slow = Path(str(remote) + ".slow")
    slow.write_text("60")
    job = start(
        f"""
        ds = StreamingDataset(remote={url(remote)!r}, local={str(local)!r}, batch_size=1)
        for s in ds:
            print(s["id"], flush=True)
        """
    )
    deadline = time.monotonic() + 60
    while not any(".tmp-" in n for n in os.listdir(local)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(".tmp-" in n for n in os.listdir(local)), "the download never started"
    os.kill(job.pid, signal.SIGKILL)  # holding the fetch lock, half a shard written
    job.communicate()
    assert not any(n.endswith(".mds") for n in os.listdir(local))  # no partial shard
    slow.unlink()
    nxt = start(
        f"""
        ds = StreamingDataset(remote={url(remote)!r}, local={str(local)!r}, batch_size=1)
        print(json.dumps([s["id"] for s in ds]))
        """
    )
    assert json.loads(finish(nxt, timeout=60)) == list(range(300))  # not blocked, all there
    assert not any(".tmp-" in n for n in os.listdir(local))  # the dead job's temporary is gone
    for name in os.listdir(local):
        if name.endswith(".mds"):
            assert filecmp.cmp(remote / name, local / name, shallow=False)


@pytest.mark.slow
def test_a_thousand_datasets_leak_no_descriptors_or_memory(remote: Path, tmp_path: Path) -> None:
    job = start(
        f"""
        import gc
        def fds():
            return len(os.listdir("/proc/self/fd"))
        def rss():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        marks = []
        for i in range(1000):
            ds = StreamingDataset(remote={url(remote)!r}, local={str(tmp_path / "c")!r},
                                  batch_size=4, shuffle=True)
            it = iter(ds)
            next(it)
            ds[i % 300]
            del it, ds
            if i in (99, 999):
                gc.collect()
                marks.append((fds(), rss()))
        print(json.dumps(marks))
        """
    )
    (fd100, rss100), (fd1000, rss1000) = json.loads(finish(job, timeout=600))
    assert fd1000 <= fd100 + 2, (fd100, fd1000)
    assert rss1000 - rss100 < 16 * 2**20, (rss100, rss1000)
