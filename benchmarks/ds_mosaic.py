"""Dataset-benchmark adapter for mosaicml-streaming 0.13.0, run with its own venv
(`scripts/peer_venv.sh mosaic`).

Reads with `StreamingDataset(local=DIR, remote=None)`. Its epoch order comes from
`streaming.base.batching.generate_work`, which takes a dataset object; `epoch_order` hands it a
stand-in holding only the sizes and settings, with the dataset's own `resample_streams` bound to
it, so no shard, shared memory or process group is involved: the same pure computation as ours.
"""

from __future__ import annotations  # noqa: I001

import types
from collections.abc import Iterable

import lib_mosaic
import numpy as np
from streaming.base.batching import generate_work
from streaming.base.world import World

from streaming import StreamingDataset

NOTES = "MDSWriter; StreamingDataset(local=DIR, remote=None, batch_size=256); generate_work"


def write(out: str, columns: dict[str, str], samples: Iterable[dict]) -> None:
    lib_mosaic.write(out, columns, None, samples)


def dataset(path: str, shuffle: bool, batch_size: int):
    return StreamingDataset(local=path, remote=None, batch_size=batch_size, shuffle=shuffle)


def resume_state(path: str, sample_in_epoch: int) -> dict:
    return {
        "epoch": 0,
        "sample_in_epoch": sample_in_epoch,
        "num_canonical_nodes": 1,
        "shuffle_seed": 9176,
        "initial_physical_nodes": 1,
    }


def load_state(ds, state: dict) -> None:
    ds.load_state_dict(state)


def epoch_order(
    num_shards: int, shard_samples: int, topology: tuple[int, int, int], batch_size: int, seed: int
) -> np.ndarray:
    """The peer's `generate_work('random', ...)` for one stream of equal shards, py1e."""
    samples_per_shard = np.full(num_shards, shard_samples, np.int64)
    stand_in = types.SimpleNamespace(
        num_canonical_nodes=1,
        batch_size=batch_size,
        partition_algo="relaxed",
        epoch_size=num_shards * shard_samples,
        initial_physical_nodes=None,
        shuffle=True,
        shuffle_algo="py1e",
        shuffle_seed=seed,
        shuffle_block_size=max(4_000_000 // 1, 1 << 18),  # the peer's default for 1 node
        sampling_method="balanced",
        sampling_granularity=1,
        epoch_seed_change=True,
        num_streams=1,
        streams=[types.SimpleNamespace(choose=num_shards * shard_samples)],
        shard_offset_per_stream=np.zeros(1, np.int64),
        shards_per_stream=np.array([num_shards], np.int64),
        samples_per_shard=samples_per_shard,
        sample_offset_per_shard=samples_per_shard.cumsum() - samples_per_shard,
    )
    stand_in.resample_streams = types.MethodType(StreamingDataset.resample_streams, stand_in)
    nodes, ranks, workers = topology
    return generate_work("random", stand_in, World(nodes, ranks, workers, 0), 0, 0)
