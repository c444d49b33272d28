"""No DataLoader worker outlives its trainer: SIGKILL the process that owns the workers, then
no worker is left a few seconds later.

The hang this guards against (issue 13, item 3): a worker whose parent dies with a batch of
bytes in flight blocks for ever in its queue's feeder thread (``Queue._finalize_join``), with
parent PID 1. Batches of undecoded image bytes (``decode=device``) are pickled through the
queue's pipe whole, so any batch over the pipe's 64 KiB does it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from streaming import MDSWriter
from streaming.worker_guard import parent_of_this_process
from tests.datasets import _raw
from tests.datasets._support import run

REPO = Path(__file__).resolve().parents[2]

#: Seconds after the SIGKILL by which every worker must be gone (the guard polls 4 times a
#: second; PyTorch's own watchdog, which the hang defeats, looks every 5 s).
DEADLINE_S = 3.0

#: Holds the first batch and leaves the workers' prefetched batches (1.6 MB each) in flight.
LOADER_SCRIPT = """
import sys, time
from torch.utils.data import DataLoader
from streaming import StreamingDataset
loader = DataLoader(StreamingDataset(local=sys.argv[1], batch_size=16), batch_size=16,
                    num_workers=2, prefetch_factor=2)
batches = iter(loader)
next(batches)
print("ready", flush=True)
time.sleep(600)
"""

#: Takes the first batch in a thread that then ends, and the rest in the main thread.
THREAD_SCRIPT = """
import sys, threading, time
from torch.utils.data import DataLoader
from streaming import StreamingDataset
loader = DataLoader(StreamingDataset(local=sys.argv[1], batch_size=16), batch_size=16,
                    num_workers=2)
started = []
def first_batch():
    batches = iter(loader)
    started.append((batches, next(batches)))
thread = threading.Thread(target=first_batch)
thread.start()
thread.join()
batches, first = started[0]
time.sleep(1.0)
ids = [int(i) for i in first["id"]] + [int(i) for b in batches for i in b["id"]]
print(*sorted(ids))
"""


def children(pid: int) -> list[int]:
    """The live processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _state(int(entry.name)) not in (None, "Z"):
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _state(pid: int) -> str | None:
    """`pid`'s state letter (``Z`` for a zombie), or None if there is no such process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def kill_and_check_workers(proc: subprocess.Popen, expected: int = 2) -> None:
    """SIGKILL `proc`, then assert that its `expected` children (the DataLoader workers) are
    all gone within `DEADLINE_S`; kill any left over."""
    workers = children(proc.pid)
    assert len(workers) == expected, f"expected {expected} DataLoader workers, found {workers}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed = time.monotonic()
    left = workers
    while left and time.monotonic() - killed < DEADLINE_S:
        time.sleep(0.05)
        left = [w for w in left if _state(w) not in (None, "Z")]
    try:
        assert not left, (
            f"DataLoader workers {left} still alive {DEADLINE_S} s after their trainer's "
            f"SIGKILL: {[_stack(w) for w in left]}"
        )
    finally:
        for w in left:
            os.kill(w, signal.SIGKILL)


def _stack(pid: int) -> str:
    try:
        tasks = sorted(Path(f"/proc/{pid}/task").iterdir())
        return ", ".join((t / "wchan").read_text() for t in tasks)
    except OSError:
        return "gone"


@pytest.fixture(scope="module")
def big_samples(tmp_path_factory: pytest.TempPathFactory) -> str:
    """96 samples of 100 kB of bytes."""
    out = tmp_path_factory.mktemp("big") / "data"
    with MDSWriter(out=str(out), columns={"id": "int", "blob": "bytes"}, size_limit="2mb") as w:
        for i in range(96):
            w.write({"id": i, "blob": bytes([i]) * 100_000})
    return str(out)


def test_workers_exit_when_their_loader_process_is_killed(big_samples: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", LOADER_SCRIPT, big_samples], cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        kill_and_check_workers(proc)
    finally:
        proc.kill()


def _report_parent(conn: multiprocessing.connection.Connection) -> None:
    conn.send(parent_of_this_process())


def _forked_child_reports(in_thread: bool) -> tuple[int, bool]:
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    result: list[tuple[int, bool]] = []

    def start() -> None:
        child = context.Process(target=_report_parent, args=(send,))
        child.start()
        result.append(receive.recv())
        child.join()

    if in_thread:
        thread = threading.Thread(target=start)
        thread.start()
        thread.join()
    else:
        start()
    return result[0]


def test_a_forked_worker_knows_its_parent_and_the_forking_thread() -> None:
    """The parent-death signal fires when the *thread* that forked dies: it is asked for only
    by a worker its parent's main thread forked."""
    assert _forked_child_reports(in_thread=False) == (os.getpid(), True)
    assert _forked_child_reports(in_thread=True) == (os.getpid(), False)


def test_workers_started_by_a_thread_that_ends_keep_working(big_samples: str) -> None:
    """A DataLoader iterated first in a thread that then ends: its workers live on (a
    parent-death signal tied to that thread would kill them, and the loader would hang or fail)
    and the epoch completes."""
    proc = subprocess.run(
        [sys.executable, "-c", THREAD_SCRIPT, big_samples], cwd=REPO,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == [str(i) for i in range(96)]


@pytest.fixture(scope="module")
def cifar10(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CIFAR10 replica of 500 training images, converted."""
    root = tmp_path_factory.mktemp("cifar10")
    _raw.cifar10(root / "raw", per_batch=100)
    run("cifar10", root / "raw", root / "cifar10")
    return root / "cifar10"


@pytest.mark.slow
@pytest.mark.parametrize("decode", ["device", "cpu"])
@pytest.mark.parametrize("kind", ["lightning", "composer"])
def test_no_worker_outlives_a_killed_trainer(
    kind: str, decode: str, cifar10: Path, tmp_path: Path
) -> None:
    """``streaming train recipes/cifar10.yaml`` with 2 DataLoader workers, SIGKILLed after its
    first step (mid-epoch: 7 steps an epoch)."""
    command = [
        str(Path(sys.executable).parent / "streaming"), "train", "recipes/cifar10.yaml",
        "--include", f"configs/trainers/{kind}_cpu.yaml", f"variables.data_local={cifar10}",
        "global_train_batch_size=64", "max_duration=1000ba", "save_interval=1000ba",
        "eval_interval=1000ba", "train_loader.num_workers=2", "eval_loader.num_workers=0",
        f"train_loader.dataset.decode={decode}", f"save_folder={tmp_path / 'ckpt'}",
    ]  # fmt: skip
    log = tmp_path / "log.txt"
    with log.open("w") as out:
        proc = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while f"[{kind}] step 1 " not in log.read_text():
            assert proc.poll() is None, f"the trainer exited:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no step after 180 s:\n{log.read_text()[-3000:]}"
            time.sleep(0.2)
        kill_and_check_workers(proc)
    finally:
        proc.kill()
