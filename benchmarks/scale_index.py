"""Benchmark (c) of issue 12: `StreamingDataset` construction over one index of N shards.

    .venv/bin/python benchmarks/scale.py --cases index [--index-sizes 10000,100000,1000000]

For each N, an ``index.json`` of N MDS shards is written as the peer's writer lays it out
(``json.dumps(sort_keys=True)``; no shard files: construction reads only the index), in a
local-only dataset directory under ``--scratch``, with a private cache root (the sidecar goes to
its meta directory). Each measurement is a fresh Python process that imports everything first,
then times ``StreamingDataset(local=..., batch_size=8)`` and reads its RSS before and after
(``/proc/self/statm``) and its peak (``ru_maxrss``):

* ``fresh``: no sidecar: the index is parsed (msgspec, column-wise) and the sidecar written;
* ``sidecar``: the same construction again, the sidecar present: it is mapped, not parsed;
* ``before`` (up to ``--before-max`` shards): the reader main had before, one dict and one
  `Shard` per entry (`json` + the per-shard validator), swapped in for comparison.

Targets (issue 12): 10^6 shards constructed in 3 s or less and 300 MB or less (RSS growth),
fresh; 0.5 s or less with the sidecar.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def write_index(path: str, n: int) -> int:
    """An index of `n` MDS shards (text + int columns), as the peer's MDSWriter writes it."""
    entry = {
        "column_encodings": ["str", "int"],
        "column_names": ["text", "id"],
        "column_sizes": [None, 8],
        "compression": None,
        "format": "mds",
        "hashes": [],
        "raw_data": {"basename": "@NAME@", "bytes": 67108000, "hashes": {}},
        "samples": 31337,
        "size_limit": 67108864,
        "version": 2,
        "zip_data": None,
    }
    head, tail = json.dumps(entry, sort_keys=True).split('"@NAME@", "bytes": 67108000')
    mid, end = tail.split('"samples": 31337')
    with open(path, "w") as f:
        f.write('{"shards": [')
        for a in range(0, n, 10000):
            f.write(
                ", ".join(
                    f'{head}"shard.{i:07}.mds", "bytes": {67108000 + i % 864}{mid}'
                    f'"samples": {1000 + i % 17}{end}'
                    for i in range(a, min(n, a + 10000))
                )
                + (", " if a + 10000 < n else "")
            )
        f.write('], "version": 2}')
    return os.path.getsize(path)


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child(dirname: str, method: str) -> dict[str, Any]:
    """One construction, in this (fresh) process."""
    import resource

    import numpy  # noqa: F401
    import torch  # noqa: F401

    import streaming.stream
    from streaming import StreamingDataset

    if method == "before":
        from streaming.format.index import INDEX_BASENAME, read_index
        from streaming.format.reader import shard_from_entry

        def open_shards(dirname, validate_hash=None, allow_unsafe_types=False, **_: Any):
            index_path = os.path.join(dirname, INDEX_BASENAME)
            obj = read_index(index_path)
            return [
                shard_from_entry(dirname, e, i, validate_hash, allow_unsafe_types, index_path)
                for i, e in enumerate(obj["shards"])
            ]

        streaming.stream.open_shards = open_shards
    rss0 = _rss()
    begin = time.perf_counter()
    ds = StreamingDataset(local=dirname, batch_size=8)
    seconds = time.perf_counter() - begin
    rss1 = _rss()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    sample = ds.shards[len(ds.shards) // 2].entry["raw_data"]["basename"]
    return {
        "seconds": seconds,
        "rss_growth_mb": (rss1 - rss0) / 2**20,
        "peak_growth_mb": max(0, peak - rss0) / 2**20,
        "num_samples": int(ds.num_samples),
        "middle_shard": sample,
    }


def _run_child(dirname: str, method: str, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", dirname, method],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise RuntimeError(f"child {method} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def case_index(args: Any) -> dict[str, Any]:
    """Benchmark (c): construction time and RSS at each size, fresh and with the sidecar."""
    sizes = [int(s) for s in args.index_sizes.split(",")]
    rows = []
    for n in sizes:
        workdir = tempfile.mkdtemp(prefix=f"index-{n}-", dir=args.scratch)
        try:
            dirname = os.path.join(workdir, "data")
            os.makedirs(dirname)
            index_bytes = write_index(os.path.join(dirname, "index.json"), n)
            env = dict(os.environ, XDG_CACHE_HOME=os.path.join(workdir, "xdg"))
            env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
            row: dict[str, Any] = {"shards": n, "index_mb": index_bytes / 2**20}
            row["fresh"] = _run_child(dirname, "fresh", env)
            row["sidecar"] = _run_child(dirname, "sidecar", env)
            if n <= args.before_max:
                row["before"] = _run_child(dirname, "before", env)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    big = next((r for r in rows if r["shards"] == 10**6), None)
    return {
        "case": "index",
        "rows": rows,
        "target": "10^6 shards: fresh <= 3 s and <= 300 MB RSS growth; with sidecar <= 0.5 s",
        "target_met": None
        if big is None
        else bool(
            big["fresh"]["seconds"] <= 3
            and big["fresh"]["rss_growth_mb"] <= 300
            and big["sidecar"]["seconds"] <= 0.5
        ),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }


def plot_index(result: dict[str, Any], path: Path) -> None:
    """Construction time and RSS growth against shards, per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for method, style in (("before", "o--"), ("fresh", "s-"), ("sidecar", "^-")):
        rows = [r for r in result["rows"] if method in r]
        if not rows:
            continue
        xs = [r["shards"] for r in rows]
        left.plot(xs, [r[method]["seconds"] for r in rows], style, label=method)
        right.plot(xs, [r[method]["rss_growth_mb"] for r in rows], style, label=method)
    for ax, label in ((left, "construction (s)"), (right, "RSS growth (MB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("shards in index.json")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle("StreamingDataset over one index (benchmarks/scale.py --cases index)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    sys.path.insert(0, str(REPO))
    print(json.dumps(child(sys.argv[2], sys.argv[3])))
