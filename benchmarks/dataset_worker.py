"""One StreamingDataset measurement in one fresh process, with one library's venv; prints one
JSON line.

    <venv>/bin/python benchmarks/dataset_worker.py OP LIB DIR [--scale S] [--mode 1p|dl]
        [--shuffle 0|1] [--state FILE] [--order-samples N]

LIB is ours | mosaic | litdata (the adapter `ds_<LIB>.py`) or floor (a plain generator, op
`iter` only). OPs:

* ``write``: write the tokens dataset (data.py: N x {tokens: 2,048 B, label}) into DIR.
* ``iter``: one full pass, ``--mode 1p`` (iterate the dataset in this process) or ``dl`` (a
  ``torch.utils.data.DataLoader(num_workers=2, batch_size=256)``), shuffle off or on. Every
  sample's payload is taken as ``bytes`` (copied where a library hands out memoryviews) and
  measured; afterwards every label must appear exactly once (DataLoader padding aside), the
  payload total must match, and the first sample's bytes must equal what was written.
* ``first``: import, construct (shuffle on), ``next(iter(ds))``.
* ``state``: print the resumption state at 90% of an epoch (``ds_<LIB>.resume_state``).
* ``resume``: import, construct (shuffle on), load the state from ``--state``, first sample.
* ``order``: one epoch's sample order for ``--order-samples`` samples in shards of 1,000, py1e,
  1 node x 8 ranks x 8 workers, batch 256; time and peak memory (``ru_maxrss`` after minus
  before the call, in a process that did nothing else).

Run it by path (never with -m or from the repo root) so `import streaming` finds the library of
the venv in use.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import resource
import sys
import time

import data
import numpy as np

SPEC = data.DATASETS["tokens"]
BATCH_SIZE = 256
NUM_WORKERS = 2
RESUME_AT = 0.9
SHARD_SAMPLES = 1_000  # for the order case
ORDER_TOPOLOGY = (1, 8, 8)  # nodes, ranks per node, workers per rank
ORDER_SEED = 9176


class BenchError(AssertionError):
    """A library returned something other than what was written."""


def rss_mb(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss * 1024 / 1e6


def as_bytes(value) -> bytes:
    return value if type(value) is bytes else bytes(value)


def collate(samples: list[dict]) -> dict:
    """The same collate for every library: payloads as a list of bytes (litdata's memoryviews
    cannot be pickled back from a worker), labels as one int64 tensor."""
    import torch

    return {
        "tokens": [as_bytes(s["tokens"]) for s in samples],
        "label": torch.tensor([int(s["label"]) for s in samples], dtype=torch.int64),
    }


def resume_position(n: int) -> int:
    return int(n * RESUME_AT)


def label_digest(labels: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(labels, dtype=np.int64)).hexdigest()[:16]


# ---- the floor: a plain generator of the same dicts --------------------------------------------


def floor_samples(n: int, worker: int = 0, num_workers: int = 1):
    """Yield {tokens: 2 KB bytes, label: i}; with workers, worker k yields batches k, k+nw, ..."""
    pool, column = data.pool(), SPEC.column
    if num_workers == 1:
        yield from data.samples(SPEC, n / SPEC.num_samples)
        return
    step = BATCH_SIZE * num_workers
    for start in range(worker * BATCH_SIZE, n, step):
        stop = min(n, start + BATCH_SIZE)
        offs = SPEC.offsets(start, stop).tolist()
        ends = (SPEC.offsets(start, stop) + SPEC.sizes(start, stop)).tolist()
        for i, (a, b) in enumerate(zip(offs, ends, strict=True), start):
            yield {column: pool[a:b], "label": i}


def floor_dataset(n: int):
    import torch.utils.data as tud

    class Floor(tud.IterableDataset):
        def __iter__(self):
            info = tud.get_worker_info()
            if info is None:
                return floor_samples(n)
            return floor_samples(n, info.id, info.num_workers)

    return Floor()


# ---- ops ----------------------------------------------------------------------------------------


def check_pass(lib, labels: np.ndarray, nbytes: int, first: tuple, n: int, scale: float) -> dict:
    count = len(labels)
    if labels.min() < 0 or labels.max() >= n:
        raise BenchError(f"{lib}: a label is out of range [0, {n})")
    seen = np.bincount(labels, minlength=n)
    missing = int((seen == 0).sum())
    extra = count - n
    # The MDS peers pad a DataLoader epoch to whole batches per worker with repeats; allow that
    # much, never a missing sample.
    if missing or not 0 <= extra < BATCH_SIZE * NUM_WORKERS:
        raise BenchError(
            f"{lib}: a pass yielded {count} samples, {missing} of {n} never, {extra} extra"
        )
    if extra == 0 and nbytes != SPEC.payload_bytes(scale):
        raise BenchError(f"{lib}: a pass yielded {nbytes} payload bytes")
    if first[1] != data.expected(SPEC, first[0]):
        raise BenchError(f"{lib}: sample {first[0]} differs from what was written")
    k = resume_position(n)
    return {
        "samples": count,
        "payload_bytes": nbytes,
        "extra_samples": extra,
        "in_order": bool((labels[:n] == np.arange(n)).all()) if count >= n else False,
        "first_label": int(labels[0]),
        "label_at_resume": int(labels[k]) if k < count else None,
        "order_digest": label_digest(labels),
    }


def op_iter(lib, mod, a) -> dict:
    n = SPEC.count(a.scale)
    data.pool()  # for the floor and the checks; built before the clock starts
    t0 = time.perf_counter()
    if lib == "floor":
        ds = floor_dataset(n) if a.mode == "dl" else None
    else:
        ds = mod.dataset(a.dir, bool(a.shuffle), BATCH_SIZE)
    open_s = time.perf_counter() - t0
    labels: list = []
    nbytes, column = 0, SPEC.column
    if a.mode == "1p":
        source = floor_samples(n) if lib == "floor" else ds
        append = labels.append
        first = None
        t0 = time.perf_counter()
        for sample in source:
            payload = sample[column]
            if type(payload) is not bytes:
                payload = bytes(payload)
            nbytes += len(payload)
            append(sample["label"])
            if first is None:
                first = (int(sample["label"]), payload)
        seconds = time.perf_counter() - t0
        labels_arr = np.asarray(labels, dtype=np.int64)
    else:
        from torch.utils.data import DataLoader

        loader = DataLoader(ds, batch_size=BATCH_SIZE, num_workers=NUM_WORKERS, collate_fn=collate)
        first = None
        t0 = time.perf_counter()
        for batch in loader:
            payloads = batch[column]
            nbytes += sum(map(len, payloads))
            labels.append(batch["label"].numpy())
            if first is None:
                first = (int(batch["label"][0]), payloads[0])
        seconds = time.perf_counter() - t0
        labels_arr = np.concatenate(labels).astype(np.int64)
    result = check_pass(lib, labels_arr, nbytes, first, n, a.scale)
    return {**result, "seconds": seconds, "open_s": open_s}


def op_first(lib, mod, a, state: dict | None = None) -> dict:
    t0 = time.perf_counter()
    ds = mod.dataset(a.dir, True, BATCH_SIZE)
    t1 = time.perf_counter()
    if state is not None:
        mod.load_state(ds, state)
    it = iter(ds)
    sample = next(it)
    t2 = time.perf_counter()
    payload = as_bytes(sample[SPEC.column])
    label = int(sample["label"])
    if payload != data.expected(SPEC, label):
        raise BenchError(f"{lib}: sample {label} differs from what was written")
    del it
    return {
        "seconds": t2 - t0,
        "construct_s": t1 - t0,
        "first_s": t2 - t1,
        "first_label": label,
        "samples": 1,
    }


def op_resume(lib, mod, a) -> dict:
    with open(a.state) as f:
        state = json.load(f)
    result = op_first(lib, mod, a, state)
    result["resume_at"] = resume_position(SPEC.count(a.scale))
    return result


def op_state(lib, mod, a) -> dict:
    return {"state": mod.resume_state(a.dir, resume_position(SPEC.count(a.scale)))}


def op_order(lib, mod, a) -> dict:
    if mod.epoch_order is None:
        raise NotImplementedError(f"{lib} has no epoch-order function to measure")
    num_shards = max(1, a.order_samples // SHARD_SAMPLES)
    before = rss_mb()
    t0 = time.perf_counter()
    work = mod.epoch_order(num_shards, SHARD_SAMPLES, ORDER_TOPOLOGY, BATCH_SIZE, ORDER_SEED)
    seconds = time.perf_counter() - t0
    after = rss_mb()
    work = np.ascontiguousarray(work, dtype=np.int64)
    real = work[work != -1]
    n = num_shards * SHARD_SAMPLES
    if len(real) < n or not (np.bincount(real, minlength=n) > 0).all():
        raise BenchError(f"{lib}: the epoch order misses samples")
    return {
        "seconds": seconds,
        "samples": n,
        "shape": list(work.shape),
        "peak_mb": after - before,
        "baseline_rss_mb": before,
        "order_digest": hashlib.sha1(work).hexdigest()[:16],
    }


OPS = {
    "iter": op_iter,
    "first": op_first,
    "resume": op_resume,
    "state": op_state,
    "order": op_order,
}


def write_op(lib, mod, a) -> dict:
    import os

    if os.path.exists(a.dir):
        raise FileExistsError(f"{a.dir} exists: the runner gives each write a fresh directory")
    data.pool()
    t0 = time.perf_counter()
    mod.write(a.dir, {SPEC.column: "bytes", "label": "int"}, data.samples(SPEC, a.scale))
    return {"seconds": time.perf_counter() - t0, "samples": SPEC.count(a.scale)}


OPS["write"] = write_op


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("op", choices=sorted(OPS))
    p.add_argument("lib", choices=["ours", "mosaic", "litdata", "floor"])
    p.add_argument("dir", nargs="?", default="")
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--mode", choices=["1p", "dl"], default="1p")
    p.add_argument("--shuffle", type=int, choices=[0, 1], default=0)
    p.add_argument("--state", help="JSON file holding the state to resume from (op resume)")
    p.add_argument("--order-samples", type=int, default=100_000_000)
    a = p.parse_args()
    if a.lib == "floor" and a.op != "iter":
        p.error("the floor only has op iter")

    t0 = time.perf_counter()
    mod = None if a.lib == "floor" else importlib.import_module(f"ds_{a.lib}")
    import_s = time.perf_counter() - t0

    result = OPS[a.op](a.lib, mod, a)
    result.update(
        op=a.op,
        lib=a.lib,
        scale=a.scale,
        import_s=import_s,
        peak_rss_mb=rss_mb(),
        children_rss_mb=rss_mb(resource.RUSAGE_CHILDREN),
        notes=getattr(mod, "NOTES", "a generator of dicts"),
    )
    if a.op == "iter":
        result.update(mode=a.mode, shuffle=bool(a.shuffle))
        result["samples_per_s"] = result["samples"] / result["seconds"]
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
