"""How the node cache's costs grow with the number of cached shards (issue 12, item 5).

    .venv/bin/python benchmarks/scale.py --cases eviction [--sizes 1000,100000] [--fetches 200]

Each case is a function in `CASES` that measures one cost at each size in `--sizes` and returns
a JSON-able dict; its result goes to ``OUT/scale_<case>.json`` and a plot to
``OUT/scale_<case>.png`` (``--out``, default ``benchmarks/out/``, git-ignored). Add a case by
adding a function to `CASES`.

``eviction`` (benchmark (e)): the accounting cost of one fetch under ``cache_limit`` with N
shards cached and the cache full, so that each fetch must evict the least recently used shard.
`NodeCache` is driven directly with synthetic shards (one 64-byte file each, "downloaded" by
writing it; no index, no hashing), in a private cache root under ``--scratch``. Before a
method's measured fetches, one warm-up fetch builds the process's state (for the ledger: its
replay of the N-line ledger; reported as ``first_fetch_s``). Then each measured fetch is
`NodeCache.prepare` of a shard not cached; timed are the whole fetch and, inside it,
`NodeCache._make_room` (usage, LRU order, the eviction itself and the reservation: the
accounting). System calls are counted in Python by wrapping the ``os`` functions the cache
uses (stat family, open/close, read/write, listdir, unlink/rename, mkdir, utime, flock, and
the ``open`` builtin): every path through them is counted, calls made inside C (none on these
paths) are not. Times are medians (wall and process CPU): creating a file on a busy disk takes
from 0.02 to 3 ms, so ``--scratch /dev/shm`` (tmpfs) shows the accounting rather than the
disk's journal. Methods:

* ``before``: the method main had before the ledger (``NodeCache.scan_accounting``): lstat
  every shard's files on each fetch, under the dataset's room lock;
* ``after``: usage and LRU order from the directory's ledger (`streaming.cache.accounting`).

``before`` runs `--fetches-before` fetches (default 20: about 0.3 s each at 10^5 shards),
``after`` runs `--fetches`. Target: ``after``'s cost per fetch flat from 10^3 to 10^5 shards
(within 2x).
"""

from __future__ import annotations

import argparse
import builtins
import contextlib
import fcntl
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SHARD_BYTES = 64

# ---- system call counting ---------------------------------------------------------------------

_COUNTED_OS = (
    "stat", "lstat", "fstat", "open", "close", "read", "pread", "write", "listdir",
    "scandir", "remove", "unlink", "rename", "replace", "mkdir", "utime",
)  # fmt: skip
_STAT_FAMILY = {"stat", "lstat", "fstat"}


@contextlib.contextmanager
def counting_calls() -> Iterator[Counter]:
    """Count calls of the ``os`` functions above, ``fcntl.flock`` and the ``open`` builtin."""
    calls: Counter = Counter()
    patched: list[tuple[Any, str, Callable]] = []

    def wrap(owner: Any, name: str, label: str) -> None:
        real = getattr(owner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            calls[label] += 1
            return real(*args, **kwargs)

        patched.append((owner, name, real))
        setattr(owner, name, counted)

    for name in _COUNTED_OS:
        wrap(os, name, name)
    wrap(fcntl, "flock", "flock")
    wrap(builtins, "open", "open")
    wrap(io, "open", "open")
    try:
        yield calls
    finally:
        for owner, name, real in reversed(patched):
            setattr(owner, name, real)


# ---- synthetic shards and stream --------------------------------------------------------------


class FakeShard:
    """What `NodeCache` needs of a shard: one raw file of `SHARD_BYTES`, no zip, no hash."""

    validate_hash = False
    hash_record = None

    def __init__(self, dirname: str, name: str) -> None:
        self.dirname = dirname
        self.entry = {"raw_data": {"basename": name, "bytes": SHARD_BYTES}}

    def file_pairs(self) -> list[tuple[dict, None]]:
        return [(self.entry["raw_data"], None)]

    def buffer(self, role: str) -> None:
        return None

    def close(self) -> None:
        return None

    def is_present(self) -> bool:
        return os.path.isfile(os.path.join(self.dirname, self.entry["raw_data"]["basename"]))

    def where(self) -> str:
        return f"file {self.entry['raw_data']['basename']!r}"


class FakeStream:
    """A stream with a remote whose "download" writes the shard's bytes in place."""

    local_only = False
    remote = "bench://synthetic"
    download_retry = 1
    keep_zip = False
    safe_keep_zip = True

    def __init__(self, dirname: str) -> None:
        self.dirname = dirname

    def index_size(self) -> int:
        return 0

    def fetch_shard_files(self, shard: FakeShard) -> int:
        path = os.path.join(self.dirname, shard.entry["raw_data"]["basename"])
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, b"x" * SHARD_BYTES)
        finally:
            os.close(fd)
        return SHARD_BYTES


def _name(i: int) -> str:
    return f"shard.{i:06d}.mds"


def _fill(dirname: str, cached: int) -> None:
    """`cached` shard files, oldest first (mtime), each listed in the ledger."""
    from streaming.cache.ledger import Ledger

    os.makedirs(dirname, exist_ok=True)
    payload = b"x" * SHARD_BYTES
    for i in range(cached):
        fd = os.open(os.path.join(dirname, _name(i)), os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, payload)
        os.close(fd)
        os.utime(os.path.join(dirname, _name(i)), ns=(i * 1000, i * 1000))
    ledger = Ledger(dirname)
    batch = 10_000
    for start in range(0, cached, batch):
        ledger.add({_name(i): SHARD_BYTES for i in range(start, min(cached, start + batch))})


# ---- case: eviction -------------------------------------------------------------------------


def _measure(cache: Any, shard_ids: list[int]) -> dict[str, Any]:
    """Fetch each shard (each evicts one); times and counted calls per fetch."""
    total_s, room_s, room_cpu_s, room_calls, fetch_calls = [], [], [], [], []
    real_make_room = cache._make_room
    spans: list[float] = []
    cpu: list[float] = []
    counters: list[Counter] = []

    def timed_make_room(shard_id: int) -> Any:
        with counting_calls() as calls:
            begin, begin_cpu = time.perf_counter(), time.process_time()
            try:
                return real_make_room(shard_id)
            finally:
                spans.append(time.perf_counter() - begin)
                cpu.append(time.process_time() - begin_cpu)
                counters.append(calls.copy())

    cache._make_room = timed_make_room
    try:
        for shard_id in shard_ids:
            spans.clear()
            cpu.clear()
            counters.clear()
            with counting_calls() as calls:
                begin = time.perf_counter()
                cache.prepare(shard_id)
                total_s.append(time.perf_counter() - begin)
            room_s.append(spans[0])
            room_cpu_s.append(cpu[0])
            room_calls.append(counters[0])
            fetch_calls.append(calls)
    finally:
        del cache._make_room

    def per_fetch(counters: list[Counter]) -> dict[str, float]:
        keys = sorted(set().union(*counters))
        return {k: sum(c[k] for c in counters) / len(counters) for k in keys}

    room = per_fetch(room_calls)
    return {
        "fetches": len(shard_ids),
        "make_room_s_median": statistics.median(room_s),
        "make_room_s_mean": statistics.fmean(room_s),
        "make_room_cpu_s_median": statistics.median(room_cpu_s),
        "fetch_s_median": statistics.median(total_s),
        "make_room_calls_per_fetch": room,
        "make_room_stat_calls_per_fetch": sum(v for k, v in room.items() if k in _STAT_FAMILY),
        "make_room_all_calls_per_fetch": sum(room.values()),
        "fetch_all_calls_per_fetch": sum(per_fetch(fetch_calls).values()),
    }


def case_eviction(args: argparse.Namespace) -> dict[str, Any]:
    """Benchmark (e): accounting cost per fetch at each size, before and after the ledger."""
    from streaming.cache.node_cache import NodeCache

    rows = []
    saved_root = os.environ.get("XDG_CACHE_HOME")
    for cached in args.sizes:
        workdir = tempfile.mkdtemp(prefix=f"evict-{cached}-", dir=args.scratch)
        try:
            os.environ["XDG_CACHE_HOME"] = os.path.join(workdir, "xdg")  # a private cache root
            dirname = os.path.join(workdir, "local")
            extra = 1 + args.fetches + 1 + args.fetches_before
            begin = time.perf_counter()
            _fill(dirname, cached)
            fill_s = time.perf_counter() - begin
            stream = FakeStream(dirname)
            shards = [FakeShard(dirname, _name(i)) for i in range(cached + extra)]
            row: dict[str, Any] = {"cached_shards": cached, "fill_s": fill_s}
            next_id = cached
            for method, fetches in (("after", args.fetches), ("before", args.fetches_before)):
                cache = NodeCache([stream], shards, [0] * len(shards), cached * SHARD_BYTES)
                cache.scan_accounting = method == "before"
                begin = time.perf_counter()
                cache.prepare(next_id)  # warm-up: builds this process's state
                first = time.perf_counter() - begin
                next_id += 1
                ids = list(range(next_id, next_id + fetches))
                next_id += fetches
                result = _measure(cache, ids)
                result["first_fetch_s"] = first
                on_disk = sum(1 for n in os.listdir(dirname) if n.endswith(".mds"))
                assert on_disk == cached, (method, on_disk, cached)  # each fetch evicted one
                assert cache.usage() == cache.usage_on_disk() == cached * SHARD_BYTES
                row[method] = result
                print(
                    f"eviction  {cached:>7} shards  {method:<6}  "
                    f"make_room {result['make_room_s_median'] * 1e6:10.1f} us/fetch wall, "
                    f"{result['make_room_cpu_s_median'] * 1e6:10.1f} us CPU (medians)  "
                    f"stat calls {result['make_room_stat_calls_per_fetch']:9.1f}  "
                    f"all counted calls {result['make_room_all_calls_per_fetch']:9.1f}  "
                    f"first fetch {first * 1e3:8.1f} ms",
                    file=sys.stderr,
                    flush=True,
                )
            rows.append(row)
        finally:
            if saved_root is None:
                os.environ.pop("XDG_CACHE_HOME", None)
            else:
                os.environ["XDG_CACHE_HOME"] = saved_root
            shutil.rmtree(workdir, ignore_errors=True)
    low, high = rows[0], rows[-1]
    ratio = high["after"]["make_room_s_median"] / low["after"]["make_room_s_median"]
    cpu_ratio = high["after"]["make_room_cpu_s_median"] / low["after"]["make_room_cpu_s_median"]
    return {
        "case": "eviction",
        "shard_bytes": SHARD_BYTES,
        "scratch": args.scratch,
        "load_average_at_start": os.getloadavg(),
        "rows": rows,
        "after_time_ratio_largest_to_smallest": ratio,
        "after_cpu_ratio_largest_to_smallest": cpu_ratio,
        "target": "after: make_room time per fetch within 2x from the smallest to the largest size",
        "target_met": ratio <= 2.0,
    }


def plot_eviction(result: dict[str, Any], path: Path) -> None:
    """Per-fetch accounting time and counted calls against cached shards, before and after."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [row["cached_shards"] for row in result["rows"]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for method, style in (("before", "o--"), ("after", "s-")):
        left.plot(sizes, [r[method]["make_room_s_median"] * 1e6 for r in result["rows"]],
                  style, label=method)  # fmt: skip
        right.plot(sizes, [r[method]["make_room_all_calls_per_fetch"] for r in result["rows"]],
                   style, label=method)  # fmt: skip
    for ax, label in ((left, "make_room time per fetch (us, median)"),
                      (right, "counted system calls per fetch")):  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("cached shards")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle("Eviction accounting per fetch under cache_limit (benchmarks/scale.py)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


#: name -> (measure, plot)
CASES: dict[str, tuple[Callable[[argparse.Namespace], dict], Callable[[dict, Path], None]]] = {
    "eviction": (case_eviction, plot_eviction),
}

from benchmarks.scale_index import case_index, plot_index  # noqa: E402 (benchmark (c))

CASES["index"] = (case_index, plot_index)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default="eviction", help=f"comma-separated: {','.join(CASES)}")
    parser.add_argument("--sizes", default="1000,100000", help="cached shards, comma-separated")
    parser.add_argument("--fetches", type=int, default=200, help="measured fetches (after)")
    parser.add_argument("--fetches-before", type=int, default=20, help="measured fetches (before)")
    parser.add_argument("--index-sizes", default="10000,100000,1000000", help="index: shards")
    parser.add_argument("--before-max", type=int, default=100000, help="index: old reader up to")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "out"))
    parser.add_argument("--scratch", default=None, help="where shards are written (default: OUT)")
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",")]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    args.scratch = args.scratch or str(out)
    unknown = [c for c in args.cases.split(",") if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {unknown}: choose from {sorted(CASES)}")
    for name in args.cases.split(","):
        measure, plot = CASES[name]
        result = measure(args)
        result["command"] = " ".join([sys.executable, *sys.argv])
        (out / f"scale_{name}.json").write_text(json.dumps(result, indent=2) + "\n")
        plot(result, out / f"scale_{name}.png")
        print(f"{name}: wrote {out / f'scale_{name}.json'} and {out / f'scale_{name}.png'}",
              file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
