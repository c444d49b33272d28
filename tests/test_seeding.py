"""Per-sample seeding: what a reader or transform draws is a function of (seed, epoch, sample id),
the same in a worker, on another rank or after a resume; the trainer's own draws are untouched."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from streaming.dataset import StreamingDataset
from streaming.seeding import (
    SampleKey,
    batch_guard,
    current_sample,
    guarded_batches,
    sample_rng,
    seeded,
)
from streaming.vision.augment import sample_seed
from tests.dataset._support import write_ids


def draws() -> tuple[float, float, float]:
    return torch.rand(()).item(), float(np.random.rand()), random.random()


class Noisy(StreamingDataset):
    """A reader whose ``get_item`` draws from the three global generators."""

    def get_item(self, sample_id: int) -> Any:
        return {"id": super().get_item(sample_id)["id"], "noise": draws()}


def test_a_sample_draws_the_same_whatever_came_before() -> None:
    key = SampleKey(7, 2, 41)
    assert key.seed_for() == sample_seed(7, 2, 41)
    with sample_rng(key):
        first = draws()
    draws()
    with sample_rng(key):
        assert draws() == first
    with sample_rng(SampleKey(7, 3, 41)):
        assert draws() != first  # another epoch
    with sample_rng(key, stage=1):
        assert draws() != first  # the adapter's transform, apart from the reader's draws


def test_the_trainers_state_is_restored_in_its_process() -> None:
    torch.manual_seed(3), np.random.seed(3), random.seed(3)
    expected = draws()
    torch.manual_seed(3), np.random.seed(3), random.seed(3)
    with sample_rng(SampleKey(1, 0, 5)):
        draws()
    assert draws() == expected
    with sample_rng(SampleKey(1, 0, 5), restore=False):
        pass
    assert draws() != expected


def test_seeded_uses_the_sample_last_read(tmp_path: Path) -> None:
    write_ids(tmp_path / "data", range(20))
    ds = StreamingDataset(local=str(tmp_path / "data"), batch_size=1, shuffle=True, shuffle_seed=5)
    transform = seeded(lambda sample: (sample["id"], draws()))
    torch.manual_seed(0)
    before = torch.get_rng_state()
    out = [transform(sample) for sample in ds]
    assert torch.equal(torch.get_rng_state(), before)
    assert current_sample() == SampleKey(5, 0, out[-1][0])
    for sample_id, noise in out:
        with sample_rng(SampleKey(5, 0, sample_id), stage=1):
            assert draws() == noise


def test_a_readers_draws_do_not_depend_on_workers_or_resume(tmp_path: Path) -> None:
    write_ids(tmp_path / "data", range(24))
    local = str(tmp_path / "data")

    def read(workers: int, state: dict | None = None) -> dict[int, Any]:
        ds = Noisy(local=local, batch_size=2, shuffle=True, shuffle_seed=5)
        if state is not None:
            ds.load_state_dict(state)
        loader = DataLoader(ds, batch_size=2, num_workers=workers, collate_fn=list)
        return {s["id"]: s["noise"] for batch in loader for s in batch}

    plain = read(0)
    assert len(plain) == 24 and len(set(plain.values())) == 24
    assert read(2) == plain
    resumed = read(0, {"epoch": 0, "sample_in_epoch": 10})
    assert len(resumed) == 14 and all(plain[i] == v for i, v in resumed.items())
    for sample_id, noise in plain.items():
        with sample_rng(SampleKey(5, 0, sample_id)):
            assert draws() == noise


def test_a_batch_guard_saves_and_restores_once_around_its_samples() -> None:
    torch.manual_seed(3), np.random.seed(3), random.seed(3)
    expected = draws()
    torch.manual_seed(3), np.random.seed(3), random.seed(3)
    with batch_guard():
        with sample_rng(SampleKey(1, 0, 5)):
            first = draws()
        after_first = draws()  # inside the guard, a sample leaves its seeded state behind
        with sample_rng(SampleKey(1, 0, 5)):
            assert draws() == first
    assert after_first != expected and draws() == expected
    batches = guarded_batches(iter([1, 2]))
    assert next(batches) == 1 and not _inside_a_guard()
    assert list(batches) == [2]


def _inside_a_guard() -> bool:
    torch.manual_seed(4)
    expected = torch.rand(()).item()
    torch.manual_seed(4)
    with sample_rng(SampleKey(0, 0, 0)):
        pass
    return torch.rand(()).item() != expected
