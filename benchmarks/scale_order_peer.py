"""The peer's side of `scale_order.py`, run with mosaicml-streaming 0.13.0's own venv
(`scripts/peer_venv.sh mosaic`).

    <mosaic venv>/bin/python benchmarks/scale_order_peer.py node --samples N --index I ...

``node`` (case (a)): one of the node's 64 workers (with ``--fork``: one rank, which forks its 8
workers at go, each attaching the rank's barrier with a lock of its own), running the peer's
own once-per-node
scheme, ``StreamingDataset._get_work``, verbatim: the local leader (process 0) computes
``generate_work('random', ...)`` for the whole epoch and puts it in shared memory with
``_share_work``; the others wait on the peer's ``SharedBarrier`` and map it with
``_attach_work``; each copies its worker's slice (``.flatten()``), all meet at the barrier again
and unmap. The process protocol is `scale_order_proc`.

**No torch.** Importing ``streaming.base.batching`` runs ``streaming/__init__``, which imports
``StreamingDataset`` and with it torch (about 450 MB of RSS per process: 64 of them would not
fit in 24 GB). `load_peer` instead registers empty package shells for ``streaming`` and
``streaming.base`` (their ``__init__`` is not run) and a stub ``torch`` holding the three names
the ordering and shared-memory modules import at module level (``get_worker_info``,
``distributed``, ``Tensor``), none of which those code paths call. The peer's
``StreamingDataset`` methods used here (``resample_streams``, ``_share_work``,
``_attach_work``, ``_get_work``) are compiled from the peer's own ``dataset.py`` source (`ast`)
and bound to a stand-in object holding only the attributes they read, as `ds_mosaic.py` does
for ``resample_streams``.
"""

from __future__ import annotations

import argparse
import ast
import logging
import sys
import types
from pathlib import Path
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scale_order_proc as proc  # noqa: E402

SEED = 9176  # the peer's default shuffle_seed
METHODS = ("resample_streams", "_share_work", "_attach_work", "_get_work")


def load_peer() -> types.SimpleNamespace:
    """The peer's ordering and shared-memory modules, without importing torch (see above)."""
    import numpy  # noqa: F401  (site-packages of this venv)

    site = Path(np.__file__).resolve().parents[1]
    root = site / "streaming"
    if "torch" in sys.modules and not getattr(sys.modules["torch"], "_bench_stub", False):
        raise RuntimeError("torch is already imported: load_peer must run first")
    for name, path in (("streaming", root), ("streaming.base", root / "base")):
        shell = types.ModuleType(name)
        shell.__path__ = [str(path)]  # a package whose __init__ is not run
        sys.modules[name] = shell
    torch = types.ModuleType("torch")
    torch._bench_stub = True
    torch.Tensor = type("Tensor", (), {})
    torch.distributed = types.ModuleType("torch.distributed")
    torch.utils = types.ModuleType("torch.utils")
    torch.utils.data = types.ModuleType("torch.utils.data")
    torch.utils.data.get_worker_info = lambda: None
    for mod in (torch, torch.distributed, torch.utils, torch.utils.data):
        sys.modules[mod.__name__] = mod

    from filelock import FileLock

    from streaming.base import constant
    from streaming.base.batching import generate_work
    from streaming.base.sampling import get_sampling
    from streaming.base.shared import SharedBarrier, SharedMemory
    from streaming.base.shared.prefix import _get_path
    from streaming.base.world import World

    source_path = root / "base" / "dataset.py"
    tree = ast.parse(source_path.read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "StreamingDataset")
    wanted = [n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name in METHODS]
    if len(wanted) != len(METHODS):
        raise RuntimeError(f"the peer's StreamingDataset lacks one of {METHODS}")
    namespace: dict[str, Any] = {
        "np": np,
        "NDArray": NDArray,
        "Optional": Optional,
        "get_sampling": get_sampling,
        "generate_work": generate_work,
        "SharedMemory": SharedMemory,
        "FileLock": FileLock,
        "_get_path": _get_path,
        "EPOCH_SHAPE": constant.EPOCH_SHAPE,
        "EPOCH_DATA": constant.EPOCH_DATA,
        "logger": logging.getLogger("streaming.base.dataset"),
    }
    module = ast.Module(body=wanted, type_ignores=[])
    exec(compile(module, str(source_path), "exec"), namespace)
    return types.SimpleNamespace(
        World=World,
        SharedBarrier=SharedBarrier,
        generate_work=generate_work,
        methods={name: namespace[name] for name in METHODS},
        site=str(site),
    )


def stand_in(peer, num_shards: int, shard_samples: int, batch_size: int, **extra) -> Any:
    """A stand-in for the peer's StreamingDataset: one stream of equal shards, py1e, one
    canonical node (as `ds_mosaic.epoch_order`), with the peer's methods bound to it."""
    samples_per_shard = np.full(num_shards, shard_samples, np.int64)
    ds = types.SimpleNamespace(
        num_canonical_nodes=1,
        batch_size=batch_size,
        batching_method="random",
        partition_algo="relaxed",
        epoch_size=num_shards * shard_samples,
        initial_physical_nodes=None,
        shuffle=True,
        shuffle_algo="py1e",
        shuffle_seed=SEED,
        shuffle_block_size=max(4_000_000 // 1, 1 << 18),  # the peer's default for 1 node
        sampling_method="balanced",
        sampling_granularity=1,
        epoch_seed_change=True,
        replication=None,
        num_streams=1,
        streams=[types.SimpleNamespace(choose=num_shards * shard_samples)],
        shard_offset_per_stream=np.zeros(1, np.int64),
        shards_per_stream=np.array([num_shards], np.int64),
        samples_per_shard=samples_per_shard,
        sample_offset_per_shard=samples_per_shard.cumsum() - samples_per_shard,
        **extra,
    )
    for name, function in peer.methods.items():
        setattr(ds, name, types.MethodType(function, ds))
    return ds


def op_node(a: argparse.Namespace) -> None:
    """Case (a): one of the node's processes, through the peer's `_get_work`."""
    peer = load_peer()
    nodes, ranks, workers = a.topology
    barrier = peer.SharedBarrier(a.lock, a.barrier)  # made by all before go, entered after
    assert getattr(sys.modules["torch"], "_bench_stub", False), "the real torch was imported"

    ds = stand_in(
        peer,
        a.samples // a.shard_samples,
        a.shard_samples,
        a.batch_size,
        _shm_prefix_int=a.prefix,
        _shared_barrier=barrier,
    )  # the rank's dataset, before its workers start

    def work(index: int, t0: float):
        world = peer.World(nodes, ranks, workers, index)
        ds._unique_worker_world = ds._parallel_worker_world = world
        if a.fork:  # this venv's filelock refuses a lock inherited across fork: a new one
            from filelock import FileLock  # (a new SharedBarrier would reset its counters)

            ds._shared_barrier.lock = FileLock(a.lock)
        cpu0 = proc.cpu_s()
        ids = ds._get_work(0, 0)  # the worker's whole slice, -1 padding included
        first = last = proc.now()
        cpu1 = proc.cpu_s()
        real = int(np.count_nonzero(ids != -1))
        record = {
            "index": index,
            "first_s": first - t0,
            "last_s": last - t0,
            "cpu_work_s": cpu1 - cpu0,
            "ids": real,
            "dtype": str(ids.dtype),
            "leader": world.is_local_leader,
        }
        return record, lambda: ids[ids != -1]

    if a.fork:  # --index is the rank; its workers are forked from it after go
        proc.fork_workers(workers, lambda w, t0: work(a.index * workers + w, t0))
    else:
        t0 = proc.ready()
        proc.finish(*work(a.index, t0))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="op", required=True)
    node = sub.add_parser("node", help="case (a): one node process")
    node.add_argument("--samples", type=int, required=True)
    node.add_argument("--shard-samples", type=int, default=1000)
    node.add_argument("--batch-size", type=int, default=256)
    node.add_argument("--topology", type=lambda s: tuple(map(int, s.split("x"))), default=(1, 8, 8))
    node.add_argument("--index", type=int, required=True, help="worker of node")
    node.add_argument("--prefix", type=int, required=True, help="the shared memory prefix int")
    node.add_argument("--lock", required=True, help="the barrier's file lock path")
    node.add_argument("--barrier", required=True, help="the barrier's shared memory name")
    node.add_argument("--fork", action="store_true", help="--index is a rank: fork its workers")
    a = p.parse_args()
    if a.op == "node":
        op_node(a)


if __name__ == "__main__":
    main()
