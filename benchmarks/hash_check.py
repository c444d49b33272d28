"""What `validate_hash` costs when every opened file is checked: first open vs. recorded open.

A process that opens a shard file with `validate_hash` hashes it, unless the per-node record
(`streaming.cache.verified`) says this version of the file was already checked. This writes an
uncompressed MDS dataset (files in the page cache, so the figures are hashing, not disk) and
times opening every shard file three ways, each in a fresh `LocalDataset` (as a new process
would): without validation, first open with validation (hashes and writes records), and a
recorded open (reads the records). Prints MB/s of shard bytes for each.

Usage: ``python benchmarks/hash_check.py [--mb 256] [--shard-mb 16] [--algo xxh64] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import numpy as np


def _open_all(path: str, validate_hash: str | None) -> float:
    from streaming.local import LocalDataset

    start = time.perf_counter()
    ds = LocalDataset(path, validate_hash=validate_hash)
    for shard in ds.shards:
        shard.buffer()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=256, help="dataset size in MiB")
    parser.add_argument("--shard-mb", type=int, default=16, help="shard size in MiB")
    parser.add_argument("--algo", action="append", help="hash algorithm(s); default xxh64, sha1")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    algos = args.algo or ["xxh64", "sha1"]

    root = tempfile.mkdtemp(prefix="hash-check-")
    os.environ["XDG_CACHE_HOME"] = os.path.join(root, "xdg")  # records in a throwaway root
    try:
        from streaming.format import MDSWriter

        path = os.path.join(root, "ds")
        sample = np.random.default_rng(0).integers(0, 256, 1 << 20, np.uint8).tobytes()
        with MDSWriter(
            out=path, columns={"b": "bytes"}, hashes=sorted(algos), size_limit=args.shard_mb << 20
        ) as writer:
            for _ in range(args.mb):
                writer.write({"b": sample})
        total = sum(
            os.path.getsize(os.path.join(path, n)) for n in os.listdir(path) if n.endswith(".mds")
        )
        mb = total / 1e6
        _open_all(path, None)  # warm the page cache
        base = min(_open_all(path, None) for _ in range(args.repeat))
        print(f"{mb:.0f} MB in {len(os.listdir(path)) - 1} shard files")
        print(f"{'open':<28}{'seconds':>10}{'MB/s':>12}")
        print(f"{'no validate_hash':<28}{base:>10.4f}{mb / base:>12.0f}")
        for algo in algos:
            firsts, recorded = [], []
            for _ in range(args.repeat):
                shutil.rmtree(os.environ["XDG_CACHE_HOME"], ignore_errors=True)
                firsts.append(_open_all(path, algo))
                recorded.append(_open_all(path, algo))
            first, again = min(firsts), min(recorded)
            print(f"{algo + ' first (hash)':<28}{first:>10.4f}{mb / first:>12.0f}")
            print(f"{algo + ' recorded':<28}{again:>10.4f}{mb / again:>12.0f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
