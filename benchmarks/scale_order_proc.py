"""The process protocol of the node benchmark (case (a) of `scale_order.py`), standard library
only, so that it runs unchanged in our venv and in the peer's.

A node process, started by the runner with its stdin and stdout on pipes:

1. imports what it needs, then prints ``ready`` and blocks on stdin;
2. reads ``go <t0>``: ``t0`` is the runner's ``CLOCK_MONOTONIC`` instant (system-wide on Linux,
   so comparable across processes), the common start of all the node's processes;
3. does its work, noting the monotonic instant of its first and of its last sample ID and its
   own CPU time (all threads) at go and at its last ID, and prints one ``done {json}`` line;
4. holds everything it read (its whole slice) until the runner, once every process is done and
   it has sampled each one's PSS, writes ``hash``; then prints ``hash <digest>:<cpu>`` (the
   CPU seconds the hashing took) and blocks;
5. exits on ``exit``; the runner reaps it with ``os.wait4`` for its CPU time and peak RSS.
"""

from __future__ import annotations

import hashlib
import json
import resource
import sys
import time


def now() -> float:
    """The system-wide monotonic clock the runner uses for ``go``."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def cpu_s() -> float:
    """This process's user + system CPU seconds so far, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def send(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def expect(word: str) -> str:
    """Block until the runner writes a line starting with `word`; return the rest."""
    line = sys.stdin.readline()
    if not line.startswith(word):
        raise SystemExit(f"node process: expected {word!r} from the runner, got {line!r}")
    return line[len(word) :].strip()


def ready() -> float:
    """Steps 1-2: report ready, wait for the common start; return it."""
    send("ready")
    return float(expect("go"))


def digest(ids) -> str:
    """The sha1 (16 hex digits) of a worker's sample IDs as little-endian int64, padding
    dropped: the same bytes whatever dtype a library holds them in."""
    import numpy as np

    return hashlib.sha1(np.ascontiguousarray(ids, dtype="<i8").tobytes()).hexdigest()[:16]


def timed_digest(ids_for_hash) -> str:
    """``<digest>:<cpu seconds>``: the digest of the IDs and the CPU time spent making it (the
    runner's check, not the library's work: the runner takes it out of the node's CPU)."""
    cpu0 = cpu_s()
    text = digest(ids_for_hash())
    return f"{text}:{cpu_s() - cpu0:.6f}"


def finish(record: dict, ids_for_hash) -> None:
    """Steps 3-5: report, hold until sampled, hash, exit on the runner's word."""
    send("done " + json.dumps(record))
    expect("hash")
    send("hash " + timed_digest(ids_for_hash))
    expect("exit")


def fork_workers(count: int, work) -> None:
    """Fork mode: this process is a rank and its workers are forked from it after ``go``, as a
    DataLoader's are under the ``fork`` start method (Linux's default), so they share its
    interpreter and imports copy-on-write.

    ``work(worker, t0)`` runs in each child and returns ``(record, ids_for_hash)``. This
    process relays the protocol: one ``done [records]`` line once every child has reported,
    one ``hash d0 d1 ...`` line, and on ``exit`` it reaps the children (so that the runner's
    ``wait4`` on it counts their CPU time too) and exits.
    """
    import os
    import traceback

    t0 = ready()
    children = []
    for worker in range(count):
        up_r, up_w = os.pipe()
        down_r, down_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                os.close(up_r)
                os.close(down_w)
                record, ids_for_hash = work(worker, t0)
                record["pid"] = os.getpid()
                os.write(up_w, (json.dumps(record) + "\n").encode())
                os.read(down_r, 1)  # hash
                os.write(up_w, (timed_digest(ids_for_hash) + "\n").encode())
                os.read(down_r, 1)  # exit
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(up_w)
        os.close(down_r)
        children.append((pid, os.fdopen(up_r, "r"), down_w))
    records = []
    for pid, up, _ in children:
        line = up.readline()
        if not line:
            raise SystemExit(f"node process: forked worker {pid} died before reporting")
        records.append(json.loads(line))
    send("done " + json.dumps(records))
    expect("hash")
    for _, _, down in children:
        os.write(down, b"h")
    send("hash " + " ".join(up.readline().strip() for _, up, _ in children))
    expect("exit")
    failed = []
    for pid, _, down in children:
        os.write(down, b"x")
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status):
            failed.append(pid)
    if failed:
        raise SystemExit(f"node process: forked workers {failed} failed")
