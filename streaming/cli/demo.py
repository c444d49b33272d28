"""`make demo`: convert a real bundled dataset to MDS, read every sample back checked, then
train a CNN on it with Lightning (``--composer``: Composer), kill the run mid-epoch, resume it
from its checkpoint and check that nothing was lost or repeated.

The dataset is scikit-learn's "digits" (1,797 real 8x8 handwritten digits), shipped inside the
scikit-learn wheel, so the demo needs no download. The training half lives with the adapters
(`streaming.integrations.demo`) and runs in its own processes: the core never imports Lightning.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

from streaming import LocalDataset, MDSWriter

TRAIN = 1497  # the first 1497 digits train, the last 300 validate


def convert(out: str, images: np.ndarray, labels: np.ndarray, first: int = 0) -> float:
    """Write the digits as MDS: zstd shards of 16 KiB, each with an xxh64 hash; ``index`` is a
    sample's place in the whole set (`first` for the first one)."""
    start = time.perf_counter()
    columns = {"image": "ndarray:uint8:8,8", "label": "int", "index": "int"}
    with MDSWriter(
        out=out, columns=columns, compression="zstd", hashes=["xxh64"], size_limit="16kb",
        exist_ok=True, progress_bar=True,
    ) as writer:  # fmt: skip
        for i, (image, label) in enumerate(zip(images, labels, strict=True)):
            writer.write({"image": image, "label": int(label), "index": first + i})
    return time.perf_counter() - start


def verify(out: str, images: np.ndarray, labels: np.ndarray, first: int = 0) -> tuple[int, float]:
    """Read every sample back (decompressing and hash-checking each shard) and compare it."""
    start = time.perf_counter()
    ds = LocalDataset(out, validate_hash="xxh64")
    seen = np.zeros(len(images), np.int64)
    for sample in ds:
        i = sample["index"] - first
        seen[i] += 1
        if not np.array_equal(sample["image"], images[i]) or sample["label"] != labels[i]:
            raise SystemExit(f"demo: sample {i} differs from the source")
    order = np.random.default_rng(0).permutation(len(ds))
    for i in order:  # random access, the way a shuffled sampler reads
        if ds[int(i)]["index"] != first + i:
            raise SystemExit(f"demo: ds[{i}] returned the wrong sample")
    if len(ds) != len(images) or not np.all(seen == 1):
        raise SystemExit(
            f"demo: {int(np.sum(seen == 0))} samples lost, {int(np.sum(seen > 1))} repeated"
        )
    return len(ds), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=os.path.join("build", "demo", "digits"))
    parser.add_argument("--composer", action="store_true", help="train with Composer")
    parser.add_argument("--no-train", action="store_true", help="convert and verify only")
    args = parser.parse_args()
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images.astype(np.uint8)  # values 0..16, stored exactly
    labels = digits.target
    print(f"digits: {len(images)} real 8x8 images from the scikit-learn wheel")
    count = 0
    for split, rows in (("train", slice(0, TRAIN)), ("val", slice(TRAIN, None))):
        out = os.path.join(args.out, split)
        seconds = convert(out, images[rows], labels[rows], first=rows.start)
        files = sorted(os.listdir(out))
        size = sum(os.path.getsize(os.path.join(out, f)) for f in files)
        print(
            f"converted {split} to {out}: {len(files) - 1} zstd shards, {size / 1024:.0f} KiB, "
            f"{seconds:.2f} s"
        )
        n, seconds = verify(out, images[rows], labels[rows], first=rows.start)
        count += n
    print(
        f"read back {count} samples (hash-checked, iterated and randomly accessed): every "
        "sample exact, none lost, none repeated"
    )
    if args.no_train:
        return
    command = [sys.executable, "-m", "streaming.integrations.demo", "--data", args.out]
    proc = subprocess.run(command + (["--composer"] if args.composer else []))
    if proc.returncode:
        raise SystemExit(proc.returncode)


if __name__ == "__main__":
    main()
