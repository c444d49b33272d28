"""`StreamingDataModule`: a run that crashes and resumes from a checkpoint trains exactly the
samples of an uninterrupted run, in order, under each trap of Lightning we know of.

A crash is a `Crash` raised after a step (or, under DDP, `max_steps`); the run resumes from the
last checkpoint before it in a fresh Trainer (fresh processes for DDP). The ids trained up to the
checkpoint plus those trained after the resume must equal the uninterrupted run's.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader, IterableDataset

from streaming.integrations.lightning import StreamingCursor, StreamingDataModule
from tests.integrations._support import flat, global_steps, read_ranks, run_phases
from tests.integrations.lightning_app import fit

STATE_KEYS = {"epoch", "sample_in_epoch", "num_canonical_nodes", "shuffle_seed",
              "initial_physical_nodes"}  # fmt: skip


def crash_and_resume(
    data: str, tmp_path: Path, ckpt: str, *, crash_at: int, trained_before: int, **kwargs: Any
) -> tuple[list[list[int]], list[list[int]]]:
    """(uninterrupted batches, batches trained up to the checkpoint + after resuming from it)."""
    save = {k: kwargs.pop(k) for k in ("every_n_steps", "every_n_epochs") if k in kwargs}
    full = fit(data, **kwargs)
    crashed = fit(data, ckpt_dir=str(tmp_path), crash_at=crash_at, **save, **kwargs)
    assert len(crashed) == crash_at, "the crash did not happen where the test expects"
    resumed = fit(data, ckpt_path=str(tmp_path / ckpt), **kwargs)
    return full, crashed[:trained_before] + resumed


def test_resume_mid_epoch_is_exact_and_state_has_the_peer_keys(ids_data: str, tmp_path: Path):
    full, resumed = crash_and_resume(
        ids_data, tmp_path, "epoch=0-step=3.ckpt", crash_at=5, trained_before=3,
        every_n_steps=3, max_epochs=2,
    )  # fmt: skip
    assert sorted(flat(full[:15])) == list(range(60)) and len(full) == 30
    assert resumed == full
    checkpoint = torch.load(tmp_path / "epoch=0-step=3.ckpt", weights_only=False)
    state = checkpoint["callbacks"]["StreamingCursor"]["dataset"]
    assert set(state) == STATE_KEYS
    assert (state["epoch"], state["sample_in_epoch"]) == (0, 12)


class _Unsized(IterableDataset):
    """A user's wrapper that hides the length, so Lightning prefetches a batch ahead."""

    def __init__(self, dataset: IterableDataset) -> None:
        self.dataset = dataset

    def __iter__(self):
        return iter(self.dataset)


class _UnsizedDataModule(StreamingDataModule):
    def train_dataloader(self) -> DataLoader:
        return DataLoader(_Unsized(self.train_dataset), batch_size=self.batch_size)


def test_unknown_length_prefetch_loses_no_batch(ids_data: str, tmp_path: Path) -> None:
    full, resumed = crash_and_resume(
        ids_data, tmp_path, "epoch=0-step=3.ckpt", crash_at=5, trained_before=3,
        every_n_steps=3, max_epochs=1, datamodule=_UnsizedDataModule,
    )  # fmt: skip
    assert resumed == full


@pytest.mark.slow
@pytest.mark.parametrize("persistent", [False, True])
def test_workers_resume_and_next_epoch_is_not_resumed_again(
    ids_data: str, tmp_path: Path, persistent: bool
) -> None:
    full, resumed = crash_and_resume(
        ids_data, tmp_path, "epoch=0-step=3.ckpt", crash_at=5, trained_before=3,
        every_n_steps=3, max_epochs=2, num_workers=2, persistent_workers=persistent,
    )  # fmt: skip
    assert resumed == full


def test_estimated_stepping_batches_in_configure_optimizers(ids_data: str, tmp_path: Path):
    full, resumed = crash_and_resume(
        ids_data, tmp_path, "epoch=0-step=3.ckpt", crash_at=5, trained_before=3,
        every_n_steps=3, max_epochs=2, estimated=True,
    )  # fmt: skip
    assert resumed == full


SAVES = {
    "on_train_epoch_end": {"every_n_epochs": 1},
    "on_last_step": {"every_n_steps": 15},
    "on_validation_end": {"every_n_epochs": 1, "save_on_val_end": True, "val_split": "val"},
}


@pytest.mark.parametrize("stop", [{"max_epochs": 3}, {"max_steps": 40}], ids=["epochs", "steps"])
@pytest.mark.parametrize("save", list(SAVES))
def test_checkpoint_at_epoch_end(ids_data: str, tmp_path: Path, stop: dict, save: str) -> None:
    """A checkpoint at the end of epoch 0 resumes at the start of epoch 1: neither an empty
    epoch 1 (the end of epoch 0 replayed) nor a repeated epoch 0. With `max_steps`, Lightning
    first re-enters epoch 0 from a checkpoint saved in on_train_epoch_end; it must find it
    empty."""
    full, resumed = crash_and_resume(
        ids_data, tmp_path, "epoch=0-step=15.ckpt", crash_at=20, trained_before=15,
        **SAVES[save], **stop,
    )  # fmt: skip
    assert resumed == full
    checkpoint = torch.load(tmp_path / "epoch=0-step=15.ckpt", weights_only=False)
    state = checkpoint["callbacks"]["StreamingCursor"]["dataset"]
    assert (state["epoch"], state["sample_in_epoch"]) == (1, 0)


@pytest.mark.slow
@pytest.mark.parametrize("persistent", [False, True])
def test_checkpoint_at_validation_end_with_workers(
    ids_data: str, tmp_path: Path, persistent: bool
) -> None:
    """Resuming from it, Lightning creates a train iterator and drops it unused; its workers
    must not claim an epoch (else epoch 1 is skipped)."""
    full, resumed = crash_and_resume(
        ids_data, tmp_path, "epoch=0-step=15.ckpt", crash_at=20, trained_before=15,
        **SAVES["on_validation_end"], max_epochs=3, num_workers=2,
        persistent_workers=persistent,
    )  # fmt: skip
    assert resumed == full


@pytest.mark.parametrize("workers", [0, 2])
def test_max_steps_stop_mid_epoch_then_continue(ids_data: str, tmp_path: Path, workers: int):
    """`max_steps` ends training mid-epoch (Lightning still calls on_train_epoch_end, where this
    checkpoint is saved); a longer run resumed from it finishes that epoch first."""
    full = fit(ids_data, max_steps=40, num_workers=workers)
    first = fit(ids_data, ckpt_dir=str(tmp_path), every_n_epochs=1, max_steps=5,
                num_workers=workers)  # fmt: skip
    resumed = fit(ids_data, ckpt_path=str(tmp_path / "epoch=0-step=5.ckpt"), max_steps=40,
                  num_workers=workers)  # fmt: skip
    assert first + resumed == full


def test_no_false_not_resumable_warning(ids_data: str, tmp_path: Path) -> None:
    fit(ids_data, ckpt_dir=str(tmp_path), every_n_steps=3, crash_at=5, max_epochs=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(ids_data, ckpt_path=str(tmp_path / "epoch=0-step=3.ckpt"), max_epochs=1)
    assert not [w for w in caught if "not resumable" in str(w.message)]


@pytest.mark.parametrize("val", ["split", "streams"])
def test_validation_data_transform_and_stall_metrics(ids_data: str, val: str) -> None:
    import lightning.pytorch as pl

    from streaming import Stream
    from tests.integrations.lightning_app import IdModel, features

    seen: list[int] = []

    class Model(IdModel):
        def validation_step(self, batch: dict, batch_idx: int) -> None:
            seen.extend(int(i) for i in batch["id"])

    validation = (
        {"val_split": "val"} if val == "split"
        else {"val_streams": [Stream(local=str(Path(ids_data) / "val"))]}
    )  # fmt: skip
    dm = StreamingDataModule(local=ids_data, batch_size=4, transform=features, **validation)
    trainer = pl.Trainer(
        accelerator="cpu", max_epochs=1, logger=False, enable_progress_bar=False,
        enable_checkpointing=False, enable_model_summary=False, num_sanity_val_steps=0,
    )  # fmt: skip
    model = Model()
    trainer.fit(model, datamodule=dm)
    assert seen == list(range(100, 112))
    assert flat(model.trained) == list(range(60))  # not shuffled: in order
    assert trainer.callbacks[0] is dm.cursor
    assert {"data/wait_s", "data/samples_per_s", "data/cache_hits", "data/cache_misses",
            "data/bytes_downloaded"} <= set(trainer.callback_metrics)  # fmt: skip


def test_rank_and_world_come_from_the_trainer(ids_data: str, monkeypatch: pytest.MonkeyPatch):
    """A launcher's variables saying rank 1 of 2 do not split a one-device Trainer's data."""
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    trained = fit(ids_data, max_epochs=1)
    assert sorted(flat(trained)) == list(range(60))


def test_a_cursor_the_user_installed_is_the_one_used(ids_data: str) -> None:
    import lightning.pytorch as pl

    from tests.integrations.lightning_app import IdModel, features

    mine = StreamingCursor(log_metrics=False)
    trainer = pl.Trainer(
        accelerator="cpu", max_steps=2, logger=False, enable_progress_bar=False,
        enable_checkpointing=False, enable_model_summary=False, callbacks=[mine],
    )  # fmt: skip
    dm = StreamingDataModule(local=ids_data, batch_size=4, transform=features)
    trainer.fit(IdModel(), datamodule=dm)
    assert dm.cursor is mine and [type(c) for c in trainer.callbacks].count(StreamingCursor) == 1
    assert mine.state_dict()["dataset"]["sample_in_epoch"] == 8


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": 4, "local": "x", "val_split": "a", "val_streams": []}, "not both"),
        ({"batch_size": 4, "streams": ["s"], "val_split": "val"}, "val_streams"),
        ({"batch_size": 4, "local": "x", "persistent_workers": True}, "num_workers"),
    ],
)
def test_bad_arguments_say_what_to_do(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        StreamingDataModule(**kwargs)


# ---- DDP on CPU (gloo): fresh processes per launch; only rank 0 writes the checkpoint ---------

APP = "tests.integrations.lightning_app"


@pytest.fixture(scope="module")
def ddp(ids_data: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One `ddp` launch of 2 processes: an uninterrupted run, a run stopped after step 5 with a
    checkpoint at step 3, and a run resumed from it."""
    work = tmp_path_factory.mktemp("ddp")
    common = {"data": ids_data, "devices": 2, "strategy": "ddp", "max_epochs": 2}
    run_phases(APP, [
        {**common, "record": str(work / "full-{rank}.json")},
        {**common, "record": str(work / "crash-{rank}.json"), "ckpt_dir": str(work / "ckpt"),
         "every_n_steps": 3, "max_steps": 5},
        {**common, "record": str(work / "resume-{rank}.json"),
         "ckpt_path": str(work / "ckpt" / "epoch=0-step=3.ckpt")},
    ], work)  # fmt: skip
    return {"work": work, "data": ids_data, **{
        p: read_ranks(str(work / f"{p}-{{rank}}.json"), 2) for p in ("full", "crash", "resume")
    }}  # fmt: skip


@pytest.mark.slow
def test_ddp_resumes_every_rank_from_rank_zeros_checkpoint(ddp: dict[str, Any]) -> None:
    full = global_steps(ddp["full"])
    assert sorted(flat(full[:8])) == list(range(60)) and len(full) == 16
    resumed = global_steps(ddp["crash"])[:3] + global_steps(ddp["resume"])
    assert resumed == full
    assert sorted(p.name for p in (ddp["work"] / "ckpt").iterdir()) == ["epoch=0-step=3.ckpt"]


@pytest.fixture(scope="module")
def ddp_spawn(ddp: dict[str, Any]) -> dict[str, Any]:
    """One `ddp_spawn` launch of 2 processes resuming from the `ddp` checkpoint at step 3,
    saving its own at step 6 and stopping after step 8."""
    work = ddp["work"]
    run_phases(APP, [
        {"data": ddp["data"], "devices": 2, "strategy": "ddp_spawn", "max_epochs": 2,
         "max_steps": 8, "every_n_steps": 3, "ckpt_dir": str(work / "spawn-ckpt"),
         "ckpt_path": str(work / "ckpt" / "epoch=0-step=3.ckpt"),
         "record": str(work / "spawn-{rank}.json")},
    ], work)  # fmt: skip
    return {**ddp, "spawn": read_ranks(str(work / "spawn-{rank}.json"), 2)}


@pytest.mark.slow
def test_ddp_spawn_resumes_and_saves(ddp_spawn: dict[str, Any]) -> None:
    full = global_steps(ddp_spawn["full"])
    resumed = global_steps(ddp_spawn["crash"])[:3] + global_steps(ddp_spawn["spawn"])
    assert resumed == full[:8]
    saved = sorted(p.name for p in (ddp_spawn["work"] / "spawn-ckpt").iterdir())
    assert saved == ["epoch=0-step=6.ckpt"]


@pytest.mark.slow
def test_resume_two_processes_on_one_keeps_the_global_order(ddp_spawn: dict[str, Any]) -> None:
    """Elastic determinism: the 2-process checkpoint of step 6 resumes in 1 process with the
    same global batch size (8 = 2 x 4), and every later step trains the same samples."""
    ckpt = ddp_spawn["work"] / "spawn-ckpt" / "epoch=0-step=6.ckpt"
    resumed = fit(ddp_spawn["data"], ckpt_path=str(ckpt), max_epochs=2, batch_size=8)
    before = global_steps(ddp_spawn["crash"])[:3] + global_steps(ddp_spawn["spawn"])[:3]
    full = global_steps(ddp_spawn["full"])
    assert [sorted(b) for b in before + resumed] == [sorted(b) for b in full]
