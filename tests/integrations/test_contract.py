"""The declared contract between the adapters and the dataset: the trainer's world passed as
``world=`` (never through ``os.environ``), the cursor's state declared and changed only through
its methods, one formula for ``sample_in_epoch``, and the Lightning internals the cursor reads,
checked on the installed Lightning."""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from streaming import StreamingDataset
from streaming.integrations import _lightning_loops as loops
from streaming.integrations._cursor import CursorDataset, CursorLoader, build_dataset
from streaming.integrations.composer import build_dataspec, composer_world
from streaming.integrations.lightning import StreamingCursor, StreamingDataModule, trainer_world
from streaming.world import World, given_world
from tests.integrations.lightning_app import IdModel, features, fit

_LAUNCHER_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE")


class Recorder(StreamingDataset):
    """A StreamingDataset that records the `world` it was given and the launcher's variables
    while it was built."""

    seen: list[tuple[Any, ...]] = []

    def __init__(self, **kwargs: Any) -> None:
        env = tuple(os.environ.get(name) for name in _LAUNCHER_VARIABLES)
        Recorder.seen.append((kwargs.get("world"), *env))
        super().__init__(**kwargs)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> type[Recorder]:
    monkeypatch.setattr(Recorder, "seen", [])
    return Recorder


def test_lightning_passes_the_trainers_world_and_writes_no_variable(
    ids_data: str, recorder: type[Recorder], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in _LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    trained = fit(ids_data, max_epochs=1, dataset_class=recorder, val_split="val")
    assert sorted(i for batch in trained for i in batch) == list(range(60))
    one = World.of(0, 1, 1)
    assert recorder.seen == [(one, None, None, None), (one, None, None, None)]  # train, val
    assert not any(name in os.environ for name in _LAUNCHER_VARIABLES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = pl.Trainer(accelerator="cpu", devices=2, num_nodes=3, strategy="ddp",
                             logger=False)  # fmt: skip
    assert trainer_world(trainer) == World(num_nodes=3, ranks_per_node=2, workers_per_rank=1,
                                           worker=0)  # fmt: skip


def test_composer_passes_its_dist_world(
    ids_data: str, recorder: type[Recorder], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Composer's launcher variables say rank 1 of 4, 2 per node: `composer.utils.dist` reads
    them, the adapter passes them as ``world=``, and nothing is written back."""
    for name, value in zip(_LAUNCHER_VARIABLES, ("1", "4", "2"), strict=True):
        monkeypatch.setenv(name, value)
    before = dict(os.environ)
    spec = build_dataspec(batch_size=4, local=ids_data, dataset_class=recorder)
    world = World(num_nodes=2, ranks_per_node=2, workers_per_rank=1, worker=1)
    assert composer_world() == world
    assert recorder.seen == [(world, "1", "4", "2")]
    assert spec.dataloader.dataset.dataset.world == world and len(spec.dataloader.dataset) == 15
    assert dict(os.environ) == before


def test_a_class_that_cannot_take_the_world_gets_it_context_locally(ids_data: str) -> None:
    """A fixed-signature class (as the mosaicml-signature readers) is built inside
    `given_world`: it gets the trainer's world, nothing is written to ``os.environ``, and a
    dataset built after the block detects its world again."""

    class Fixed(StreamingDataset):
        def __init__(self, *, local: str, batch_size: int, shuffle: bool = False) -> None:
            super().__init__(local=local, batch_size=batch_size, shuffle=shuffle)

    before = dict(os.environ)
    built = build_dataset(Fixed, World.of(1, 2), local=ids_data, batch_size=4)
    assert built.world == World.of(1, 2).rank_world()
    assert dict(os.environ) == before
    assert StreamingDataset(local=ids_data, batch_size=4).world == World.detect()
    with pytest.raises(TypeError, match=r"`world` is set by the adapter from the trainer's ranks"):
        build_dataset(StreamingDataset, World.of(0, 1), local=ids_data, world=World.of(0, 1))
    with pytest.raises(TypeError, match=r"given_world needs a World"):
        with given_world((0, 1)):  # type: ignore[arg-type]
            pass


def _cursor(ids_data: str, **kwargs: Any) -> CursorDataset:
    return CursorDataset(StreamingDataset(local=ids_data, batch_size=4, **kwargs))


def test_cursor_state_is_declared_and_changed_only_through_methods(ids_data: str) -> None:
    cursor = _cursor(ids_data, world=World.of(0, 1))
    assert (cursor.loaded_state, cursor.awaits_trainer_position, cursor.ended_epoch) == (
        None, False, None,
    )  # fmt: skip
    for name in ("loaded_state", "awaits_trainer_position", "ended_epoch"):
        with pytest.raises(AttributeError):
            setattr(cursor, name, 1)

    cursor.load_state_dict(None)  # Composer: a checkpoint without a dataset state
    assert cursor.awaits_trainer_position and cursor.loaded_state is None
    cursor.resume_at_trainer_position(2, 8)
    assert not cursor.awaits_trainer_position and cursor.epoch == 2
    assert cursor.state_dict(0, True)["epoch"] == 2

    cursor.load_state_dict({"epoch": 1, "sample_in_epoch": 4})
    assert cursor.take_loaded_state() == {"epoch": 1, "sample_in_epoch": 4}
    assert cursor.take_loaded_state() is None and cursor.loaded_state is None

    cursor = _cursor(ids_data, world=World.of(0, 1))
    cursor.load_state_dict(None)
    loader = CursorLoader(cursor, batch_size=4)
    with pytest.warns(UserWarning, match="Resuming from a checkpoint without a dataset state"):
        first = next(iter(loader))
    assert first["id"].tolist() == [0, 1, 2, 3] and not cursor.awaits_trainer_position
    assert cursor.forget_trainer_position() is False


def test_epoch_is_a_query(ids_data: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`CursorDataset.epoch` (asked on every batch) reads ``current_epoch``, never
    ``state_dict``, and changes nothing."""
    cursor = _cursor(ids_data, shuffle=True)
    dataset = cursor.dataset

    def no_state_dict(*args: Any) -> None:
        raise AssertionError("state_dict called to learn the epoch")

    monkeypatch.setattr(dataset, "state_dict", no_state_dict)
    assert cursor.epoch == -1
    assert (dataset.num_canonical_nodes, dataset.shuffle_block_size) == (None, None)
    for _ in CursorLoader(cursor, batch_size=4):
        assert cursor.epoch == 0
    assert cursor.epoch == 0 and dataset.num_canonical_nodes == 1


def test_every_count_goes_through_samples_in_epoch(
    ids_data: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lightning's per-rank count, Composer's count over all ranks and `StreamingDataLoader`'s
    become ``sample_in_epoch`` through `StreamingDataset.samples_in_epoch` alone."""
    cursor = _cursor(ids_data, replication=2, world=World.of(0, 4))
    assert cursor.trained_state(10)["sample_in_epoch"] == 20  # 10 x 4 ranks / 2
    assert cursor.state_dict(40, True)["sample_in_epoch"] == 20  # Composer: 40 over 4 ranks
    monkeypatch.setattr(cursor.dataset, "samples_in_epoch", lambda per_rank: 7 * per_rank)
    assert cursor.trained_state(2)["sample_in_epoch"] == 14
    assert cursor.state_dict(8, True)["sample_in_epoch"] == 14
    callback = StreamingCursor(log_metrics=False)
    callback.attach(cursor)
    callback.samples = 3
    assert callback.state_dict()["dataset"]["sample_in_epoch"] == 21


class _LastBatch(pl.Callback):
    """Records, after each training batch, what the fit loop says about the epoch's last batch."""

    def __init__(self) -> None:
        self.seen: list[bool] = []

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        self.seen.append(loops.is_last_batch(trainer))


def test_lightning_internals_the_cursor_reads_are_where_it_reads_them(
    ids_data: str, tmp_path: Path
) -> None:
    """On the installed Lightning: the fit loop's ``batch_progress.is_last_batch`` marks the
    epoch's last batch, and a checkpoint saved at an epoch's end under ``max_steps`` holds the
    ``loops`` counters that say the fit re-enters that epoch. If a Lightning release moves
    either, this fails with `LightningInternalsError` naming the version and the attribute."""
    last = _LastBatch()
    checkpoints = ModelCheckpoint(dirpath=tmp_path, filename="{epoch}-{step}", save_top_k=-1,
                                  every_n_epochs=1, save_on_train_epoch_end=True)  # fmt: skip
    trainer = pl.Trainer(
        accelerator="cpu", devices=1, max_steps=15, callbacks=[checkpoints, last], logger=False,
        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
    )  # fmt: skip
    dm = StreamingDataModule(local=ids_data, batch_size=4, transform=features)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(IdModel(), datamodule=dm)
    assert last.seen == [False] * 14 + [True]
    (path,) = tmp_path.glob("*.ckpt")
    checkpoint = torch.load(path, weights_only=False)
    assert loops.epoch_progress_total(checkpoint) == {
        "ready": 1, "started": 1, "processed": 1, "completed": 0,
    }  # fmt: skip
    assert loops.replays_ended_epoch(trainer, checkpoint)


def test_moved_lightning_internals_are_named() -> None:
    version = re.escape(pl.__version__)
    moved = SimpleNamespace(fit_loop=SimpleNamespace(epoch_loop=SimpleNamespace()))
    with pytest.raises(loops.LightningInternalsError, match=rf"^Lightning {version}: "
                       r"`trainer.fit_loop.epoch_loop.batch_progress` does not exist"):  # fmt: skip
        loops.is_last_batch(moved)  # type: ignore[arg-type]
    with pytest.raises(
        loops.LightningInternalsError,
        match=rf"^Lightning {version}: "
        r"`checkpoint\['loops'\]\['fit_loop'\]\['epoch_progress'\]` is missing",
    ):
        loops.epoch_progress_total({"loops": {"fit_loop": {}}})
    with pytest.raises(loops.LightningInternalsError, match=r"has no integer counter 'ready'"):
        loops.epoch_progress_total(
            {"loops": {"fit_loop": {"epoch_progress": {"total": {"started": 1}}}}}
        )
    assert loops.epoch_progress_total({"state_dict": {}}) is None  # weights only: no loops
    assert not loops.replays_ended_epoch(SimpleNamespace(max_steps=5), {})  # type: ignore[arg-type]
