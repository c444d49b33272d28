"""Runs inside the mosaicml-streaming 0.13.0 venv: the peer's stream weighting, resampling and
batching (``generate_work``) for many settings, without any data.

    python batching_peer.py CASES_JSON OUT_NPZ OUT_JSON

Each case in CASES_JSON is a dict with ``shard_sizes`` (per stream), ``weights`` (per stream, a
dict with at most ``proportion``/``repeat``/``choose``, or a bad combination), ``epoch_size``,
the dataset settings (``seed``, ``sampling_method``, ``sampling_granularity``,
``partition_algo``, ``num_canonical_nodes``, ``batch_size``, ``shuffle``, ``shuffle_algo``,
``shuffle_block_size``, ``initial_physical_nodes``, ``batching_method``, ``replication``), the
``topology`` ``[nodes, ranks_per_node, workers_per_rank]`` and ``epochs``, a list of
``[epoch, sample_in_epoch]``.

The dataset is a stand-in holding exactly the attributes that ``StreamingDataset.resample_streams``
and the batching functions read, with the peer's own ``resample_streams`` bound to it; streams are
real ``Stream`` objects (local-only, nothing downloaded) weighted by the peer's own
``Stream.validate_weights``/``apply_weights``; the epoch-size and empty-stream checks are copied
from ``StreamingDataset.__init__``.

OUT_JSON holds, per case, ``{"error": ...}`` if weighting failed, else ``{"weights": {...},
"epochs": [...]}`` with per epoch ``{"error", "message"}`` or ``{"shape", "warnings"}``
(``warnings``: how many warnings the batching issued, by ``warnings.warn`` or the batching
modules' loggers; numpy RuntimeWarnings left out). OUT_NPZ holds, for case ``i`` and epoch
``j``, ``w{i}_{j}`` (the work), and ``u{i}_{j}``/``s{i}_{j}`` (``resample_streams(epoch)``'s
shuffle units and sample IDs) when the peer returned them.
"""

from __future__ import annotations  # noqa: I001

import json
import logging
import sys
import warnings

import numpy as np
from streaming.base.batching import generate_work
from streaming.base.dataset import StreamingDataset
from streaming.base.stream import Stream
from streaming.base.util import number_abbrev_to_int
from streaming.base.world import World


class _Count(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


class StandIn:
    """The attributes of StreamingDataset that resampling and batching read."""

    resample_streams = StreamingDataset.resample_streams


def _weigh(case: dict) -> tuple[list, int]:
    """Streams weighted as StreamingDataset.__init__ does: (streams, epoch_size)."""
    streams = [
        Stream(local=f"/nonexistent/stream{i}", **weight)
        for i, weight in enumerate(case["weights"])
    ]
    epoch_size_value = None
    if case["epoch_size"]:
        epoch_size_value = number_abbrev_to_int(case["epoch_size"])
        if epoch_size_value < 0:
            raise ValueError(f"Epoch size cannot be negative. Received {epoch_size_value}.")
    Stream.validate_weights(streams)
    samples_per_stream = np.array([sum(sizes) for sizes in case["shard_sizes"]], np.int64)
    if not samples_per_stream.all():
        raise RuntimeError("Stream contains no samples")
    epoch_size = Stream.apply_weights(streams, samples_per_stream, epoch_size_value, case["seed"])
    return streams, epoch_size


def _dataset(case: dict, streams: list, epoch_size: int) -> StandIn:
    ds = StandIn()
    shards_per_stream = [len(sizes) for sizes in case["shard_sizes"]]
    ds.streams = streams
    ds.num_streams = len(streams)
    ds.shards_per_stream = np.array(shards_per_stream, np.int64)
    ds.shard_offset_per_stream = np.cumsum([0] + shards_per_stream[:-1]).astype(np.int64)
    ds.samples_per_shard = np.array(sum(case["shard_sizes"], []), np.int64)
    ds.sample_offset_per_shard = ds.samples_per_shard.cumsum() - ds.samples_per_shard
    ds.epoch_size = epoch_size
    ds.shuffle_seed = case["seed"]
    ds.sampling_method = case["sampling_method"]
    ds.sampling_granularity = case["sampling_granularity"]
    ds.partition_algo = case["partition_algo"]
    ds.num_canonical_nodes = case["num_canonical_nodes"]
    ds.batch_size = case["batch_size"]
    ds.shuffle = case["shuffle"]
    ds.shuffle_algo = case["shuffle_algo"]
    block = case["shuffle_block_size"]
    ds.shuffle_block_size = (
        block if block is not None else max(4_000_000 // ds.num_canonical_nodes, 1 << 18)
    )
    ds.initial_physical_nodes = case["initial_physical_nodes"]
    ds.epoch_seed_change = ds.shuffle and ds.sampling_method == "balanced"
    return ds


def _run_epoch(
    ds: StandIn,
    world: World,
    case: dict,
    epoch: int,
    sample_in_epoch: int,
    key: str,
    arrays: dict,
    counter: _Count,
) -> dict:
    try:
        units, ids = ds.resample_streams(epoch)
    except Exception:
        pass
    else:
        arrays[f"u{key}"] = units.astype(np.int32)
        arrays[f"s{key}"] = ids.astype(np.int32)
    counter.count = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            work = generate_work(case["batching_method"], ds, world, epoch, sample_in_epoch)
        except Exception as exc:
            return {"error": type(exc).__name__, "message": str(exc)[:300]}
    arrays[f"w{key}"] = work.astype(np.int32)
    num_warnings = sum(not issubclass(w.category, RuntimeWarning) for w in caught)
    return {
        "shape": list(work.shape),
        "dtype": str(work.dtype),
        "warnings": num_warnings + counter.count,
    }


def main(cases_path: str, npz_path: str, json_path: str) -> None:
    counter = _Count()
    batching_logger = logging.getLogger("streaming.base.batching")
    batching_logger.addHandler(counter)
    batching_logger.propagate = False
    logging.getLogger("streaming").setLevel(logging.ERROR)
    batching_logger.setLevel(logging.WARNING)
    with open(cases_path) as f:
        cases = json.load(f)
    arrays: dict = {}
    records = []
    for i, case in enumerate(cases):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                streams, epoch_size = _weigh(case)
        except Exception as exc:
            records.append({"error": type(exc).__name__, "message": str(exc)[:300]})
            continue
        record = {
            "weights": {
                "choose": [int(s.choose) for s in streams],
                "proportion": [float(s.proportion) for s in streams],
                "repeat": [float(s.repeat) for s in streams],
                "epoch_size": int(epoch_size),
            },
            "epochs": [],
        }
        ds = _dataset(case, streams, epoch_size)
        world = World(*case["topology"], worker=0)
        if case["replication"] is not None:
            world = world.replicate(case["replication"])
        record["replicated"] = [world.num_nodes, world.ranks_per_node, world.workers_per_rank]
        for j, (epoch, sample_in_epoch) in enumerate(case["epochs"]):
            record["epochs"].append(
                _run_epoch(ds, world, case, epoch, sample_in_epoch, f"{i}_{j}", arrays, counter)
            )
        records.append(record)
    np.savez_compressed(npz_path, **arrays)
    with open(json_path, "w") as f:
        json.dump(records, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
