"""Our side of `scale_order.py`, run with the project's venv (``.venv/bin/python``), without
importing torch (checked: ``node`` and ``part`` fail if torch got imported).

    .venv/bin/python benchmarks/scale_order_ours.py node --samples N --index I --dir D ...
    .venv/bin/python benchmarks/scale_order_ours.py part --samples N --node K --file F ...

* ``node`` (case (a)): one of the node's 64 workers (with ``--fork``: one rank, which forks its
  8 workers at go): ``open_node_order`` on the node's shared directory (the first process
  computes the node's part in a background thread, the others map the file), then reads its
  worker's IDs to the end, holding every chunk (its whole slice). The process protocol is
  `scale_order_proc`.
* ``part`` (case (b)): one process computes node K's part of the epoch,
  ``node_work(...).fill(out, publish)``, into a fresh order file (``create_order_file``, as the
  node's producer does), publishing its progress there; prints one JSON line
  with the wall time and the peak RSS (``VmHWM``, which counts the file pages it wrote) and
  the peak of anonymous memory (``RssAnon``, sampled every 50 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scale_order_proc as proc  # noqa: E402

SEED = 9176


def settings_for(samples: int, shard_samples: int, batch_size: int, canonical: int):
    """One stream of equal shards, py1e, the defaults for `canonical` canonical nodes."""
    from streaming.ordering import OrderingSettings
    from streaming.ordering.batching import default_shuffle_block_size

    shards = samples // shard_samples
    return OrderingSettings(
        shard_sizes=((shard_samples,) * shards,),
        choose=(shards * shard_samples,),
        proportion=(1.0,),
        batch_size=batch_size,
        num_canonical_nodes=canonical,
        partition_algo="relaxed",
        shuffle=True,
        shuffle_algo="py1e",
        shuffle_seed=SEED,
        shuffle_block_size=default_shuffle_block_size(canonical),
    )


def load(impl: str):
    """``open_node_order`` and ``node_work``: the project's, or the stand-in's."""
    if impl == "standin":
        import scale_order_standin

        scale_order_standin.install()
    from streaming.cache.shared_order import open_node_order
    from streaming.ordering.node_order import node_work

    return open_node_order, node_work


def no_torch() -> None:
    if "torch" in sys.modules:
        raise RuntimeError("torch was imported by the ordering or sharing modules")


def op_node(a: argparse.Namespace) -> None:
    from streaming.ordering import Topology

    open_node_order, _ = load(a.impl)
    nodes, ranks, workers = a.topology
    topology = Topology(nodes, ranks, workers)
    settings = settings_for(a.samples, a.shard_samples, a.batch_size, 1)
    no_torch()

    def work(index: int, t0: float):
        rank, worker = divmod(index, workers)
        cpu0 = proc.cpu_s()
        order = open_node_order(a.dir, "random", settings, topology, 0, 0, None, 0)
        opened = proc.now()
        chunks, first = [], None
        for chunk in order.worker_ids(rank, worker):
            if first is None:
                first = proc.now()
            chunks.append(chunk)  # held: the worker's whole slice
        last = proc.now()
        cpu1 = proc.cpu_s()
        no_torch()
        record = {
            "index": index,
            "open_s": opened - t0,
            "first_s": (first if first is not None else last) - t0,
            "last_s": last - t0,
            "cpu_work_s": cpu1 - cpu0,
            "ids": int(sum(len(c) for c in chunks)),
            "chunks": len(chunks),
            "dtype": str(chunks[0].dtype) if chunks else "",
            "shape": list(order.shape),
        }
        return record, lambda: np.concatenate(chunks) if chunks else np.empty(0, np.int64)

    if a.fork:  # --index is the rank; its workers are forked from it after go
        proc.fork_workers(workers, lambda w, t0: work(a.index * workers + w, t0))
    else:
        t0 = proc.ready()
        proc.finish(*work(a.index, t0))


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def op_part(a: argparse.Namespace) -> None:
    from streaming.ordering import Topology

    _, node_work = load(a.impl)
    nodes, ranks, workers = a.topology
    settings = settings_for(a.samples, a.shard_samples, a.batch_size, a.canonical)
    base_hwm, base_anon = _status_kb("VmHWM"), _status_kb("RssAnon")
    peak_anon = [base_anon]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.05):
            peak_anon[0] = max(peak_anon[0], _status_kb("RssAnon"))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    publishes = []
    t0 = time.perf_counter()
    cpu0 = proc.cpu_s()
    work = node_work("random", settings, Topology(nodes, ranks, workers), 0, a.resume, None, a.node)
    prepared = time.perf_counter() - t0
    from streaming.cache.order_file import create_order_file

    order = create_order_file(a.file, work.shape, work.dtype)  # the shared order's own file
    out = order.array
    first_publish = []

    def publish(k: int) -> None:
        if not first_publish:
            first_publish.append(time.perf_counter() - t0)
        publishes.append(k)
        order.publish(k)  # noqa: F821

    work.fill(out, publish)
    seconds = time.perf_counter() - t0
    cpu = proc.cpu_s() - cpu0
    stop.set()
    sampler.join()
    peak_anon[0] = max(peak_anon[0], _status_kb("RssAnon"))
    no_torch()
    real = out[out != -1] if a.check else None
    record = {
        "node": a.node,
        "samples": a.samples,
        "canonical_nodes": a.canonical,
        "topology": list(a.topology),
        "resume": a.resume,
        "shape": list(work.shape),
        "dtype": str(work.dtype),
        "file_mb": os.path.getsize(a.file) / 1e6,
        "seconds": seconds,
        "cpu_s": cpu,
        "prepare_s": prepared,
        "first_publish_s": first_publish[0] if first_publish else None,
        "publishes": len(publishes),
        "peak_rss_mb": _status_kb("VmHWM") / 1e3,
        "baseline_rss_mb": base_hwm / 1e3,
        "peak_anon_mb": peak_anon[0] / 1e3,
        "baseline_anon_mb": base_anon / 1e3,
    }
    if real is not None:
        record["ids"] = int(len(real))
        record["unique"] = bool(len(np.unique(real)) == len(real))
        record["digest"] = proc.digest(real)
    del out, order
    os.unlink(a.file)
    print(json.dumps(record), flush=True)


def main() -> None:
    def topo(s: str) -> tuple[int, ...]:
        return tuple(map(int, s.split("x")))

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="op", required=True)
    for name in ("node", "part"):
        s = sub.add_parser(name)
        s.add_argument("--samples", type=int, required=True)
        s.add_argument("--shard-samples", type=int, default=1000)
        s.add_argument("--batch-size", type=int, default=256)
        s.add_argument("--impl", choices=["real", "standin"], default="real")
    node = sub.choices["node"]
    node.add_argument("--topology", type=topo, default=(1, 8, 8))
    node.add_argument("--index", type=int, required=True, help="worker of node")
    node.add_argument("--dir", required=True, help="the node's shared order directory")
    node.add_argument("--fork", action="store_true", help="--index is a rank: fork its workers")
    part = sub.choices["part"]
    part.add_argument("--topology", type=topo, default=(8, 8, 8))
    part.add_argument("--canonical", type=int, default=8)
    part.add_argument("--node", type=int, default=0)
    part.add_argument("--resume", type=int, default=0)
    part.add_argument("--file", required=True)
    part.add_argument("--check", action="store_true", help="count and hash the IDs (slow)")
    a = p.parse_args()
    {"node": op_node, "part": op_part}[a.op](a)


if __name__ == "__main__":
    main()
