"""Runs inside the mosaicml-streaming 0.13.0 venv: the peer's get_partitions for many settings.

    python partition_peer.py CASES_JSON OUT_NPZ OUT_JSON

CASES_JSON is a list of ``[algo, num_samples, num_canonical_nodes, num_physical_nodes,
ranks_per_node, workers_per_rank, batch_size, drop_first, initial_physical_nodes]``. For case
``i`` OUT_NPZ holds ``a{i}`` (the partition, as int32) when the peer returns one, and OUT_JSON a
list with, per case, ``{"dtype", "shape", "warnings"}`` or ``{"error", "message", "warnings"}``
(``warnings`` is the messages of the warnings it issued).
"""

from __future__ import annotations  # noqa: I001

import json
import logging
import sys
import warnings

import numpy as np
from streaming.base.partition import get_partitions


def main(cases_path: str, npz_path: str, json_path: str) -> None:
    logging.getLogger("streaming").setLevel(logging.ERROR)  # its drop_first rounding notice
    with open(cases_path) as f:
        cases = json.load(f)
    arrays = {}
    records = []
    for i, case in enumerate(cases):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                ids = get_partitions(*case)
            except Exception as exc:
                record = {"error": type(exc).__name__, "message": str(exc)}
            else:
                record = {"dtype": str(ids.dtype), "shape": list(ids.shape)}
                arrays[f"a{i}"] = ids.astype(np.int32)
        record["warnings"] = [str(w.message) for w in caught]
        records.append(record)
    np.savez_compressed(npz_path, **arrays)
    with open(json_path, "w") as f:
        json.dump(records, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
