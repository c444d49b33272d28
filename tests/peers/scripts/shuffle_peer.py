"""Runs inside the mosaicml-streaming 0.13.0 venv: the peer's `get_shuffle` for many cases.

    python shuffle_peer.py CASES_JSON OUT_NPZ

CASES_JSON holds a list of cases, each ``{"algo", "shard_sizes", "num_canonical_nodes", "seed",
"epoch", "block_size"}``. OUT_NPZ gets the order of case ``i`` as array ``order_<i>``, and one
JSON string ``report``: per case, the name of the exception raised (or null) and whether the
peer warned. One interpreter does every case, because importing the peer takes seconds.
"""

from __future__ import annotations  # noqa: I001

import json
import sys
import warnings

import numpy as np
from streaming.base.shuffle import get_shuffle


def main(cases_path: str, out_path: str) -> None:
    with open(cases_path) as file:
        cases = json.load(file)
    arrays, report = {}, []
    for i, case in enumerate(cases):
        error = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                arrays[f"order_{i}"] = get_shuffle(
                    case["algo"],
                    np.array(case["shard_sizes"], dtype=np.int64),
                    case["num_canonical_nodes"],
                    case["seed"],
                    case["epoch"],
                    case["block_size"],
                )
            except Exception as exc:
                error = type(exc).__name__
        report.append({"error": error, "warned": bool(caught)})
    np.savez(out_path, report=np.array(json.dumps(report)), **arrays)


if __name__ == "__main__":
    main(*sys.argv[1:])
