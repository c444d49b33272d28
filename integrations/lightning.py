"""PyTorch Lightning adapter: `StreamingDataModule`, whose runs resume sample-exactly.

``trainer.fit(model, datamodule=StreamingDataModule(...), ckpt_path=...)`` trains, after the
resume, exactly the samples an uninterrupted run would have trained. The DataModule installs
`StreamingCursor`, a callback that counts the samples each training step consumed (in the main
process, after the step: immune to Lightning's one-batch prefetch and to DataLoader workers) and
saves the cursor (see `streaming.integrations._cursor`) in the checkpoint. The cursor is restored
before the train DataLoader exists or is iterated, and does not rely on Lightning's loader-state
hooks, which
``trainer.estimated_stepping_batches`` bypasses (Lightning-AI/pytorch-lightning#20550).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import lightning.pytorch as pl
from torch.utils.data import DataLoader

from streaming.dataset import StreamingDataset
from streaming.integrations import _rng
from streaming.integrations._cursor import CursorDataset, CursorLoader, build_dataset
from streaming.integrations._lightning_loops import is_last_batch, replays_ended_epoch
from streaming.integrations._metrics import StallMeter
from streaming.loader import batch_length
from streaming.stream import Stream
from streaming.world import World

__all__ = ["StreamingCursor", "StreamingDataModule"]

# Lightning warns that an IterableDataset's length may be wrong with workers; a
# StreamingDataset's is exact (it deals each worker its own batches).
warnings.filterwarnings("ignore", message="Your `IterableDataset` has `__len__` defined")

# Dataset settings a validation dataset shares with the training one (never the order's).
_VAL_KEYS = (
    "remote", "local", "download_retry", "download_timeout", "validate_hash", "keep_zip",
    "predownload", "cache_limit", "allow_unsafe_types",
)  # fmt: skip


class StreamingCursor(pl.Callback):
    """Saves where training is in the data in each checkpoint, and resumes there.

    `StreamingDataModule` installs it (first in ``trainer.callbacks``, so the step just trained is
    counted before any callback saves a checkpoint in ``on_train_batch_end``). It also logs
    data-stall metrics through the trainer's loggers: ``data/wait_s`` (time the step waited for
    its batch), ``data/samples_per_s``, and the dataset's cache counters when it has them.

    Args:
        log_metrics: Log the data-stall metrics.
    """

    def __init__(self, log_metrics: bool = True) -> None:
        self.dataset: CursorDataset | None = None
        self.samples = 0  # this rank's samples trained since this epoch began (or resumed)
        self.meter = StallMeter() if log_metrics else None
        self._loaded: dict[str, Any] | None = None
        self._replays_ended_epoch = False
        self._rng: list[dict[str, Any]] | None = None  # loaded RNG states, restored at 1st step

    def attach(self, dataset: CursorDataset) -> None:
        """Track `dataset` (this rank's training data, built with the trainer's world), applying
        a state loaded before it existed."""
        self.dataset = dataset
        self._apply()

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.samples = 0

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self._rng is not None:  # Lightning saves no RNG state: ours, just before the step
            states, self._rng = self._rng, None
            _rng.restore_rank(states)
        if self.meter is not None:
            self.meter.batch_start()

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        count = batch_length(batch)
        self.samples += count
        if self.dataset is None:
            return
        # At the epoch's last batch, the trainer is past the epoch, as Composer's count resets.
        # (Not in ``on_train_epoch_end``: Lightning also calls it when `max_steps` stops training
        # mid-epoch, and a run resumed from there finishes the epoch.)
        if is_last_batch(trainer) or batch_idx + 1 >= trainer.num_training_batches:
            self.dataset.end_epoch()
            self.samples = 0
        if self.meter is not None:
            metrics = self.meter.batch_end(count * trainer.world_size, self.dataset.dataset)
            pl_module.log_dict(metrics, on_step=True, on_epoch=False, rank_zero_only=True)

    def state_dict(self) -> dict[str, Any]:
        """The dataset's resumption state after the samples trained so far (mosaicml-streaming's
        keys; the same on every rank, so rank 0's checkpoint serves all)."""
        rng = {"rng": _rng.capture_all_ranks()}  # every rank builds the checkpoint's state
        if self.dataset is None:
            return rng
        return {"dataset": self.dataset.trained_state(self.samples), **rng}

    def on_load_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        self._replays_ended_epoch = replays_ended_epoch(trainer, checkpoint)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._loaded = state_dict.get("dataset")
        self._rng = state_dict.get("rng")
        if self.dataset is not None:
            self._apply()

    def _apply(self) -> None:
        """Resume the dataset from the loaded state."""
        state, self._loaded = self._loaded, None
        if state is None or self.dataset is None:
            return
        if self._replays_ended_epoch and state["sample_in_epoch"] == 0:
            # Lightning first plays the ended epoch out: nothing is left of it.
            epoch_size = self.dataset.epoch_size
            state = {**state, "epoch": state["epoch"] - 1, "sample_in_epoch": epoch_size}
        self.dataset.load_state_dict(state)


class _TrainLoader(CursorLoader):
    """The train DataLoader. Its empty loader state only tells Lightning that the loader is
    resumable (no false "not resumable" warning): the cursor lives in `StreamingCursor`, which
    Lightning restores earlier and always (``estimated_stepping_batches`` skips loader states)."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        pass


class StreamingDataModule(pl.LightningDataModule):
    """A LightningDataModule streaming a `StreamingDataset`, resumable sample-exactly.

    Rank and world size come from the trainer. Each rank reads its own part of the data (no
    ``DistributedSampler``), in mosaicml-streaming's order.

    Args:
        batch_size: Per-device batch size (also the dataset's, which orders by it).
        num_workers: DataLoader workers per rank.
        collate_fn: DataLoader ``collate_fn``.
        pin_memory: DataLoader ``pin_memory``.
        persistent_workers: DataLoader ``persistent_workers``.
        prefetch_factor: DataLoader ``prefetch_factor`` (with workers only).
        drop_last: DataLoader ``drop_last``.
        transform: Applied to each sample (in the workers), e.g. to make tensors.
        val_split: Validation split of the same `remote`/`local` (not shuffled).
        val_streams: Validation streams, instead of `val_split`.
        val_batch_size: Validation batch size (default `batch_size`).
        log_metrics: Log data-stall metrics (see `StreamingCursor`).
        device_transform: ``(batch, epoch) -> batch`` run on the device after each training
            batch is transferred (``on_after_batch_transfer``), e.g.
            `streaming.integrations.vision.image_device_transform` to decode images on the GPU.
        val_device_transform: The same for validation batches.
        dataset_class: The dataset to build: `StreamingDataset` or a typed reader such as
            ``StreamingImageNet`` (its own options, e.g. ``decode="none"``, go in
            `reader_options`, which validation data gets too).
        reader_options: Options of `dataset_class` beyond `StreamingDataset`'s.
        val_reader_options: The same for the validation data (default `reader_options`), e.g.
            a center crop instead of a random one.
        **dataset_kwargs: `StreamingDataset` arguments for the training data: ``remote``,
            ``local``, ``split``, ``streams``, ``shuffle``, ``shuffle_seed``, ``epoch_size``, ...
    """

    def __init__(
        self,
        *,
        batch_size: int,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        persistent_workers: bool = False,
        prefetch_factor: int | None = None,
        drop_last: bool = False,
        transform: Callable[[Any], Any] | None = None,
        val_split: str | None = None,
        val_streams: Sequence[Stream] | None = None,
        val_batch_size: int | None = None,
        log_metrics: bool = True,
        device_transform: Callable[[Any, int], Any] | None = None,
        val_device_transform: Callable[[Any, int], Any] | None = None,
        dataset_class: type[StreamingDataset] = StreamingDataset,
        reader_options: dict[str, Any] | None = None,
        val_reader_options: dict[str, Any] | None = None,
        **dataset_kwargs: Any,
    ) -> None:
        super().__init__()
        self.dataset_class = dataset_class
        self.reader_options = dict(reader_options or {})
        self.val_reader_options = (
            self.reader_options if val_reader_options is None else dict(val_reader_options)
        )
        self.device_transform = device_transform
        self.val_device_transform = val_device_transform
        if val_split is not None and val_streams is not None:
            raise ValueError("Give `val_split` or `val_streams`, not both")
        if val_split is not None and dataset_kwargs.get("streams"):
            raise ValueError(
                "`val_split` selects a split of `remote`/`local`; with `streams`, give the "
                "validation data as `val_streams`"
            )
        if persistent_workers and not num_workers:
            raise ValueError("`persistent_workers=True` needs `num_workers` > 0")
        self.batch_size = batch_size
        self.val_batch_size = val_batch_size or batch_size
        self.loader_kwargs: dict[str, Any] = {
            "num_workers": num_workers,
            "collate_fn": collate_fn,
            "pin_memory": pin_memory,
            "persistent_workers": persistent_workers,
        }
        if num_workers and prefetch_factor is not None:
            self.loader_kwargs["prefetch_factor"] = prefetch_factor
        self.drop_last = drop_last
        self.transform = transform
        self.val_split = val_split
        self.val_streams = list(val_streams) if val_streams is not None else None
        self.dataset_kwargs = dataset_kwargs
        self.cursor = StreamingCursor(log_metrics)
        self.train_dataset: CursorDataset | None = None
        self.val_dataset: CursorDataset | None = None
        if not self._has_val:
            self.val_dataloader = None  # type: ignore[assignment]  # Lightning: no validation

    def setup(self, stage: str) -> None:
        """Build the datasets for this rank and install the cursor callback (keep calling it
        with ``super().setup(stage)`` if you override it)."""
        trainer = self.trainer
        if trainer is None:
            raise RuntimeError("StreamingDataModule.setup needs a Trainer: use trainer.fit(...)")
        world = trainer_world(trainer)
        if stage == "fit" and self.train_dataset is None:
            ds = build_dataset(
                self.dataset_class, world,
                batch_size=self.batch_size, **self.dataset_kwargs, **self.reader_options,
            )  # fmt: skip
            self.train_dataset = CursorDataset(ds, self.transform)
        if stage in ("fit", "validate") and self.val_dataset is None and self._has_val:
            self.val_dataset = CursorDataset(self._val_dataset(world), self.transform)
        if self.train_dataset is not None:
            self.cursor = _install(trainer, self.cursor)
            self.cursor.attach(self.train_dataset)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Run `device_transform` (training) or `val_device_transform` on the device batch,
        with the epoch the data belongs to."""
        trainer = self.trainer
        training = trainer is not None and trainer.training
        transform = self.device_transform if training else self.val_device_transform
        if transform is None:
            return batch
        dataset = self.train_dataset if training else self.val_dataset
        epoch = max(0, dataset.epoch) if dataset is not None else 0
        return transform(batch, epoch)

    @property
    def _has_val(self) -> bool:
        return self.val_split is not None or self.val_streams is not None

    def _val_dataset(self, world: World) -> StreamingDataset:
        kwargs = {k: v for k, v in self.dataset_kwargs.items() if k in _VAL_KEYS}
        if self.val_streams is not None:
            kwargs.pop("remote", None)
            kwargs.pop("local", None)
            kwargs["streams"] = self.val_streams
        else:
            kwargs["split"] = self.val_split
        return build_dataset(
            self.dataset_class, world,
            batch_size=self.val_batch_size, **kwargs, **self.val_reader_options,
        )  # fmt: skip

    def train_dataloader(self) -> DataLoader:
        """The training loader over this rank's part of the data."""
        if self.train_dataset is None:
            raise RuntimeError("train_dataloader() before setup('fit')")
        return _TrainLoader(
            self.train_dataset, batch_size=self.batch_size, drop_last=self.drop_last,
            **self.loader_kwargs,
        )  # fmt: skip

    def val_dataloader(self) -> DataLoader:
        """The validation loader (not defined without validation data)."""
        if self.val_dataset is None:
            raise RuntimeError("val_dataloader() before setup('fit') or setup('validate')")
        return DataLoader(
            self.val_dataset, batch_size=self.val_batch_size,
            **{"generator": _rng.loader_generator(), **self.loader_kwargs},
        )  # fmt: skip


def _install(trainer: pl.Trainer, cursor: StreamingCursor) -> StreamingCursor:
    """The trainer's `StreamingCursor`, inserting `cursor` first in its callbacks if it has none
    (first: it must count a step before a checkpoint saved at the end of that step)."""
    for callback in trainer.callbacks:
        if isinstance(callback, StreamingCursor):
            return callback
    trainer.callbacks.insert(0, cursor)
    return cursor


def trainer_world(trainer: pl.Trainer) -> World:
    """This rank's place in the trainer's run: its global rank, world size and devices per node
    (the trainer knows them with every strategy and launcher, ``ddp_spawn`` included)."""
    if trainer.world_size != trainer.num_nodes * trainer.num_devices:
        raise ValueError(
            f"The trainer runs {trainer.world_size} processes on {trainer.num_nodes} node(s) of "
            f"{trainer.num_devices} device(s): every node must run the same number of ranks"
        )
    return World.of(trainer.global_rank, trainer.world_size, trainer.num_devices)
