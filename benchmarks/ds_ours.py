"""Dataset-benchmark adapter for our library (openstreaming), run with /work/main/.venv/bin/python.

Writes with our MDSWriter (`lib_ours.write`), reads with `StreamingDataset(local=DIR)` (no remote:
the shards are already in the local cache), resumes with `StreamingDataset.load_state_dict`, and
computes an epoch's order with the pure `streaming.ordering.generate_work`.
"""

from __future__ import annotations

from collections.abc import Iterable

import lib_ours
import numpy as np

from streaming import StreamingDataset
from streaming.ordering import OrderingSettings, Topology, generate_work
from streaming.ordering.batching import default_shuffle_block_size

NOTES = "MDSWriter; StreamingDataset(local=DIR, batch_size=256); streaming.ordering.generate_work"


def write(out: str, columns: dict[str, str], samples: Iterable[dict]) -> None:
    lib_ours.write(out, columns, None, samples)


def dataset(path: str, shuffle: bool, batch_size: int):
    return StreamingDataset(local=path, batch_size=batch_size, shuffle=shuffle)


def resume_state(path: str, sample_in_epoch: int) -> dict:
    """The checkpoint a run that trained `sample_in_epoch` samples of epoch 0 would hold."""
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
    """One epoch's sample order (all nodes/ranks/workers), shuffle py1e, one canonical node."""
    settings = OrderingSettings(
        shard_sizes=((shard_samples,) * num_shards,),
        choose=(num_shards * shard_samples,),
        proportion=(1.0,),
        batch_size=batch_size,
        num_canonical_nodes=1,
        partition_algo="relaxed",
        shuffle=True,
        shuffle_algo="py1e",
        shuffle_seed=seed,
        shuffle_block_size=default_shuffle_block_size(1),
    )
    return generate_work("random", settings, Topology(*topology), 0, 0)
