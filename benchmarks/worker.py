"""One measurement in one process, with one library's venv; prints one JSON line.

    <venv>/bin/python benchmarks/worker.py LIB OP DATASET COMPRESSION DIR [--scale S]

LIB is ours | mosaic | litdata (the adapter module lib_<LIB>.py), OP is write | random | iter |
gen, COMPRESSION is none | zstd. `write` writes DIR (which must not exist), `random` reads
`ds[i]` for 10,000 random indices (fewer past --random-budget seconds: litdata's ds[i] on
zstd chunks costs time proportional to the chunk size), `iter` makes one full in-order pass,
`gen` only runs the data generator (the floor under every write). Every read checks label ==
index and fails loudly otherwise; payloads are compared byte for byte on a sample of indices,
outside the timed loop. Every read returns the payload as `bytes` (a copy where a library hands
out memoryviews), inside the timed region.
Run it by path, never with -m or from the repo root, so `import streaming` finds the library
of the venv in use.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import sys
import time

import data
import numpy as np

RANDOM_ACCESSES = 10_000
MIN_RANDOM_ACCESSES = 200  # even past the time budget
RANDOM_SEED = 7
CHECKED_PAYLOADS = 100


class BenchError(AssertionError):
    """A library returned something other than what was written."""


def as_bytes(value) -> bytes:
    # litdata yields memoryviews into an mmap; a user who keeps a sample must copy it. Every
    # library pays the same copy here (a no-op when it already returns bytes).
    return value if isinstance(value, bytes) else bytes(value)


def check_payload(lib: str, ds, spec: data.Spec, indices) -> None:
    for i in indices:
        got = as_bytes(ds[int(i)][spec.column])
        if got != data.expected(spec, int(i)):
            raise BenchError(
                f"{lib}: sample {i} column {spec.column!r} differs from what was written"
            )


def op_gen(lib, mod, spec, compression, out, scale, budget_s) -> dict:
    data.pool()
    t0 = time.perf_counter()
    n = sum(1 for _ in data.samples(spec, scale))
    return {"seconds": time.perf_counter() - t0, "samples": n}


def op_write(lib, mod, spec, compression, out, scale, budget_s) -> dict:
    if os.path.exists(out):
        raise FileExistsError(f"{out} exists: the runner gives each write a fresh directory")
    columns = {spec.column: "bytes", "label": "int"}
    data.pool()  # build the pool before the clock starts
    t0 = time.perf_counter()
    mod.write(out, columns, compression, data.samples(spec, scale))
    seconds = time.perf_counter() - t0
    disk = sum(e.stat().st_size for e in os.scandir(out) if e.is_file())
    return {"seconds": seconds, "samples": spec.count(scale), "disk_bytes": disk}


def op_random(lib, mod, spec, compression, out, scale, budget_s: float) -> dict:
    n = spec.count(scale)
    t0 = time.perf_counter()
    ds = mod.open_reader(out, compression, "random")
    open_s = time.perf_counter() - t0
    if len(ds) != n:
        raise BenchError(f"{lib}: len(ds) == {len(ds)}, wrote {n} samples")
    indices = np.random.default_rng(RANDOM_SEED).integers(0, n, RANDOM_ACCESSES).tolist()
    lat = np.empty(len(indices), dtype=np.int64)
    column, nbytes, clock = spec.column, 0, time.perf_counter_ns
    deadline = clock() + int(budget_s * 1e9)
    for k, i in enumerate(indices):
        t = clock()
        sample = ds[i]
        payload = as_bytes(sample[column])
        lat[k] = clock() - t
        if sample["label"] != i:
            raise BenchError(f"{lib}: ds[{i}]['label'] == {sample['label']}, expected {i}")
        nbytes += len(payload)
        if k >= MIN_RANDOM_ACCESSES and t > deadline:
            indices, lat = indices[: k + 1], lat[: k + 1]
            break
    check_payload(lib, ds, spec, indices[:CHECKED_PAYLOADS])
    us = lat / 1e3
    return {
        "seconds": float(lat.sum()) / 1e9,
        "samples": len(indices),
        "payload_bytes": nbytes,
        "open_s": open_s,
        "mean_us": float(us.mean()),
        "p50_us": float(np.percentile(us, 50)),
        "p99_us": float(np.percentile(us, 99)),
    }


def op_iter(lib, mod, spec, compression, out, scale, budget_s) -> dict:
    n = spec.count(scale)
    t0 = time.perf_counter()
    ds = mod.open_reader(out, compression, "iter")
    open_s = time.perf_counter() - t0
    seen = np.zeros(n, dtype=np.int64)
    column, nbytes, count, in_order, first = spec.column, 0, 0, 0, None
    t0 = time.perf_counter()
    for sample in mod.iterate(ds):
        payload = as_bytes(sample[column])
        label = int(sample["label"])
        seen[label] += 1  # IndexError on a label out of range: loud enough
        in_order += label == count
        nbytes += len(payload)
        if first is None:
            first = (label, payload)
        count += 1
    seconds = time.perf_counter() - t0
    if count != n or not (seen == 1).all():
        raise BenchError(
            f"{lib}: a pass yielded {count} samples, {int((seen == 1).sum())} of {n} once"
        )
    if nbytes != spec.payload_bytes(scale):
        raise BenchError(
            f"{lib}: a pass yielded {nbytes} payload bytes, wrote {spec.payload_bytes(scale)}"
        )
    if first[1] != data.expected(spec, first[0]):
        raise BenchError(
            f"{lib}: sample {first[0]} column {column!r} differs from what was written"
        )
    return {
        "seconds": seconds,
        "samples": count,
        "payload_bytes": nbytes,
        "open_s": open_s,
        "in_order": in_order == n,
    }


OPS = {"gen": op_gen, "write": op_write, "random": op_random, "iter": op_iter}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("lib", choices=["ours", "mosaic", "litdata"])
    p.add_argument("op", choices=sorted(OPS))
    p.add_argument("dataset", choices=sorted(data.DATASETS))
    p.add_argument("compression", choices=["none", "zstd"])
    p.add_argument("dir")
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--random-budget", type=float, default=30.0, help="seconds, for op random")
    a = p.parse_args()
    spec = data.DATASETS[a.dataset]
    compression = None if a.compression == "none" else "zstd"

    t0 = time.perf_counter()
    mod = importlib.import_module(f"lib_{a.lib}") if a.op != "gen" else None
    import_s = time.perf_counter() - t0

    result = OPS[a.op](a.lib, mod, spec, compression, a.dir, a.scale, a.random_budget)
    result.setdefault("payload_bytes", spec.payload_bytes(a.scale))
    result.update(
        lib=a.lib,
        op=a.op,
        dataset=a.dataset,
        compression=a.compression,
        scale=a.scale,
        import_s=import_s,
        samples_per_s=result["samples"] / result["seconds"],
        mb_per_s=result["payload_bytes"] / result["seconds"] / 1e6,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6,
        notes=getattr(mod, "NOTES", ""),
    )
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
