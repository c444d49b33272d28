"""One epoch order per node: many processes, one computes, all read the same IDs; a killed
producer is replaced; two jobs never mix; an unusable directory falls back with a warning.

Each simulated process is a real one (`_shared_order_child.py`, or a ``-c`` script).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from streaming.cache.order_file import open_order_file
from streaming.cache.shared_order import SharedOrderWarning, open_node_order, order_key
from streaming.ordering import OrderingSettings, Topology, generate_work

sys.path.insert(0, str(Path(__file__).parent))
from _shared_order_child import expected_digest  # noqa: E402

CHILD = Path(__file__).with_name("_shared_order_child.py")
REPO = Path(__file__).resolve().parents[2]


def start(directory: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(directory), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def result(proc: subprocess.Popen[str], timeout: float = 60) -> dict:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def test_many_readers_one_producer(tmp_path: Path) -> None:
    procs = [start(tmp_path, "order", "500", "--delay", "0.05") for _ in range(6)]
    results = [result(p) for p in procs]
    assert sum(r["produced"] for r in results) == 1
    assert {r["digest"] for r in results} == {expected_digest(500)}
    order = open_order_file(str(tmp_path / "order.order"))
    assert order is not None and order.complete
    assert not list(tmp_path.glob("*.tmp"))


def test_sigkill_of_the_producer_is_recovered(tmp_path: Path) -> None:
    producer = start(tmp_path, "order", "800", "--delay", "0.01", "--hang-at", "300")
    deadline = time.monotonic() + 30
    while True:  # wait until it is half way, and hangs there
        found = open_order_file(str(tmp_path / "order.order"))
        if found is not None and found.progress >= 300:
            break
        assert time.monotonic() < deadline, "the producer never published"
        time.sleep(0.01)
    readers = [start(tmp_path, "order", "800") for _ in range(3)]
    time.sleep(0.5)
    assert all(r.poll() is None for r in readers), "readers must wait for the hung producer"
    producer.send_signal(signal.SIGKILL)
    producer.wait()
    results = [result(r) for r in readers]
    assert sum(r["produced"] for r in results) == 1
    assert {r["digest"] for r in results} == {expected_digest(800)}
    final = open_order_file(str(tmp_path / "order.order"))
    assert final is not None and final.complete and final.inode != found.inode


def test_a_new_epoch_removes_the_jobs_older_orders(tmp_path: Path) -> None:
    for name, epoch in (("job-e0-0", 0), ("job-e0-12", 0), ("other-e0-0", 0)):
        result(start(tmp_path, name, "50", "--epoch", str(epoch)))
    result(start(tmp_path, "job-e1-0", "50", "--epoch", "1"))
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["job-e1-0.lock", "job-e1-0.order", "other-e0-0.lock", "other-e0-0.order"]


SCRIPT = """
import json, sys, warnings
import numpy as np
sys.path.insert(0, {repo!r})
from streaming.cache.shared_order import open_node_order
from streaming.ordering import OrderingSettings, Topology
settings = OrderingSettings(shard_sizes=[[37] * 40], choose=[1480], proportion=[1.0],
    batch_size=4, num_canonical_nodes=4, shuffle=True, shuffle_seed={seed})
topology = Topology(2, 2, 2)
{limit}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    order = open_node_order({directory!r}, "random", settings, topology, 0, 0, None, 1)
    ids = [np.concatenate(list(order.worker_ids(r, w))).tolist()
           for r in range(2) for w in range(2)]
print(json.dumps({{"ids": ids, "warnings": [str(w.message) for w in caught]}}))
"""


def run_script(directory: Path, seed: int, limit: str = "") -> subprocess.Popen[str]:
    code = SCRIPT.format(repo=str(REPO), seed=seed, directory=str(directory), limit=limit)
    return subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def expected_ids(seed: int) -> list[list[int]]:
    settings = OrderingSettings(
        shard_sizes=[[37] * 40], choose=[1480], proportion=[1.0], batch_size=4,
        num_canonical_nodes=4, shuffle=True, shuffle_seed=seed,
    )  # fmt: skip
    work = generate_work("random", settings, Topology(2, 2, 2), 0, 0)[1]
    return [[i for i in work[r, w].ravel().tolist() if i != -1] for r in range(2) for w in range(2)]


def test_two_jobs_with_different_settings_never_mix(tmp_path: Path) -> None:
    procs = [run_script(tmp_path, seed) for seed in (1, 2, 1, 2)]
    outs = [result(p) for p in procs]
    assert [o["ids"] for o in outs] == [expected_ids(s) for s in (1, 2, 1, 2)]
    assert expected_ids(1) != expected_ids(2)
    assert len(list(tmp_path.glob("*.order"))) == 2
    assert not any(o["warnings"] for o in outs)


def test_a_full_directory_falls_back_to_a_private_order_with_a_warning(tmp_path: Path) -> None:
    limit = (
        "import resource, signal; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
        "resource.setrlimit(resource.RLIMIT_FSIZE, (256, 256))"
    )
    out = result(run_script(tmp_path, 1, limit))
    assert out["ids"] == expected_ids(1)
    assert len(out["warnings"]) == 1
    assert "Could not share the epoch order through" in out["warnings"][0]
    assert "File too large" in out["warnings"][0]
    assert not list(tmp_path.glob("*.order*"))


def test_an_unusable_directory_falls_back(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    settings = OrderingSettings(
        shard_sizes=[[10] * 8], choose=[80], proportion=[1.0], batch_size=2,
        num_canonical_nodes=1,
    )  # fmt: skip
    with pytest.warns(SharedOrderWarning, match="Could not share the epoch order"):
        order = open_node_order(
            str(blocker / "orders"), "random", settings, Topology(1, 1, 1), 0, 0, None, 0
        )
    assert np.concatenate(list(order.worker_ids(0, 0))).tolist() == list(range(80))


def test_keys_differ_by_every_input() -> None:
    settings = OrderingSettings(
        shard_sizes=[[10] * 8], choose=[80], proportion=[1.0], batch_size=2,
        num_canonical_nodes=1,
    )  # fmt: skip
    other = OrderingSettings(
        shard_sizes=[[10] * 7 + [11]], choose=[80], proportion=[1.0], batch_size=2,
        num_canonical_nodes=1,
    )  # fmt: skip
    base = ("random", settings, Topology(1, 2, 2), 3, 0, None, 0)
    variants = [
        ("stratified", *base[1:]),
        (base[0], other, *base[2:]),
        (*base[:2], Topology(1, 2, 3), *base[3:]),
        (*base[:3], 4, *base[4:]),
        (*base[:4], 8, *base[5:]),
        (*base[:5], 2, base[6]),
        (*base[:6], 1),
    ]
    keys = {order_key(*v) for v in [base, *variants]}
    assert len(keys) == 1 + len(variants)
    jobs = {order_key(*v)[0] for v in [base, variants[2]]}
    assert len(jobs) == 2
    assert order_key(*base)[0] == order_key(*variants[3])[0]  # another epoch: same job


def test_chunks_are_read_only_views_of_the_shared_order(tmp_path: Path) -> None:
    """A worker's chunks share the mapped order's pages (no per-process copy of the slice) and
    cannot write it; a chunk with padding is a copy without the padding."""
    settings = OrderingSettings(
        shard_sizes=[[10] * 7], choose=[70], proportion=[1.0], batch_size=4,
        num_canonical_nodes=1,
    )  # fmt: skip
    topology = Topology(1, 1, 2)
    expected = generate_work("random", settings, topology, 0, 0)[0]
    for _ in range(2):  # the producer's map (writable), then a follower's
        order = open_node_order(str(tmp_path), "random", settings, topology, 0, 0, None, 0)
        for worker in range(2):
            chunks = list(order.worker_ids(0, worker, chunk=8))
            want = expected[0, worker].reshape(-1)
            assert np.concatenate(chunks).tolist() == want[want != -1].tolist()
            shared = [np.shares_memory(chunk, order.array) for chunk in chunks]
            assert shared[:-1] == [True] * (len(chunks) - 1)
            assert shared[-1] == (not (want == -1).any())
            for chunk in chunks[:-1]:
                with pytest.raises(ValueError, match="read-only"):
                    chunk[0] = 0
        order.wait_complete()
    assert (expected == -1).any()  # some worker's last chunk had padding
