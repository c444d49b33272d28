"""The process protocol of the node benchmark (case (a) of `scale_order.py`), standard library
only, so that it runs unchanged in our venv and in the peer's.

A node process, started by the runner with its stdin and stdout on pipes:

1. imports what it needs, then prints ``ready`` and blocks on stdin;
2. reads ``go <t0>``: ``t0`` is the runner's ``CLOCK_MONOTONIC`` instant (system-wide on Linux,
   so comparable across processes), the common start of all the node's processes;
3. does its work, noting the monotonic instant of its first and of its last sample ID and its
   own CPU time (all threads) at go and at its last ID, and prints one ``done {json}`` line;
4. holds everything it read (its whole slice) until the runner, once every process is done and
   it has sampled each one's PSS, writes ``hash``; then prints ``hash <digest>`` and blocks;
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


def finish(record: dict, ids_for_hash) -> None:
    """Steps 3-5: report, hold until sampled, hash, exit on the runner's word."""
    send("done " + json.dumps(record))
    expect("hash")
    send("hash " + digest(ids_for_hash()))
    expect("exit")
