"""The per-sample cost of per-sample seeding (streaming.seeding), against a CIFAR10 sample's
PNG decode and the cifar10 recipe's CPU transform.

    .venv/bin/python benchmarks/seeding_cost.py
"""

from __future__ import annotations

import io
import timeit

import numpy as np
from PIL import Image

from streaming.integrations.recipes.transforms import cifar_transform
from streaming.seeding import SampleKey, batch_guard, sample_rng, set_current_sample


def per_call(fn: object, number: int) -> float:
    """Best of 5 repeats, in microseconds per call."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6  # type: ignore[arg-type]


def main() -> None:
    key = SampleKey(17, 3, 12345)

    def seed_and_restore() -> None:
        with sample_rng(key, restore=True):
            pass

    def seed_only() -> None:
        with sample_rng(key, restore=False):
            pass

    def guard() -> None:
        with batch_guard():
            pass

    transform = cifar_transform(32, True)
    buf = io.BytesIO()
    Image.fromarray(np.random.randint(0, 255, (32, 32, 3), np.uint8)).save(buf, "PNG")
    png = buf.getvalue()

    def cifar_sample() -> None:
        transform(Image.open(io.BytesIO(png)).convert("RGB"))

    rows = [
        ("seed only (a DataLoader worker; a sample inside a batch guard)",
         per_call(seed_only, 5000)),
        ("seed, save and restore (a sample read in the training process)",
         per_call(seed_and_restore, 2000)),
        ("batch guard: save and restore once per batch (CursorLoader, num_workers=0)",
         per_call(guard, 2000)),
        ("record the sample's key (every sample, no user code)",
         per_call(lambda: set_current_sample(SampleKey(17, 3, 12345)), 20000)),
        ("for scale: a CIFAR10 PNG decoded + the recipe's train transform",
         per_call(cifar_sample, 1000)),
    ]  # fmt: skip
    for name, us in rows:
        print(f"{us:8.1f} us  {name}")


if __name__ == "__main__":
    main()
