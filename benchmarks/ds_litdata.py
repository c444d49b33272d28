"""Dataset-benchmark adapter for litdata 0.2.76, run with its own venv (`scripts/peer_venv.sh
litdata`).

Writes with `BinaryWriter` (`lib_litdata.write`), reads with `StreamingDataset(input_dir=DIR)`
(`max_cache_size="1TB"`: see benchmarks/README.md's caveats). Resumes with the dataset's own
state API: `state_dict(num_samples_yielded, num_workers, batch_size)` from one dataset object
(made in another process, as a checkpoint would be), `load_state_dict` into a fresh one. It has
no epoch-order function comparable to the MDS peer's, so that case is not run.
"""

from __future__ import annotations

from collections.abc import Iterable

import lib_litdata
from litdata import StreamingDataset

NOTES = "BinaryWriter; StreamingDataset(input_dir=DIR, shuffle=...); state_dict/load_state_dict"
CACHE = "1TB"


def write(out: str, columns: dict[str, str], samples: Iterable[dict]) -> None:
    lib_litdata.write(out, columns, None, samples)


def dataset(path: str, shuffle: bool, batch_size: int):
    return StreamingDataset(input_dir=path, shuffle=shuffle, max_cache_size=CACHE)


def resume_state(path: str, sample_in_epoch: int) -> dict:
    """The state a single-process run (no workers) holds after `sample_in_epoch` samples."""
    ds = dataset(path, True, 1)
    return ds.state_dict(num_samples_yielded=sample_in_epoch, num_workers=0, batch_size=1)


def load_state(ds, state: dict) -> None:
    ds.load_state_dict(state)


epoch_order = None  # no comparable pure function
