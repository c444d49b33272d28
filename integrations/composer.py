"""MosaicML Composer adapter: `build_dataspec`, whose runs resume sample-exactly.

Composer saves ``dataset.state_dict(sample_in_epoch, True)`` in every checkpoint, counting the
samples trained over all ranks after each step, and on ``Trainer(load_path=...)`` or autoresume
calls ``dataset.load_state_dict(obj)`` before training; a dataset with ``load_state_dict`` is
trusted to resume by itself, so Composer never spins through the skipped batches. The dataset of
the DataSpec is a `CursorDataset` (see `streaming.integrations._cursor`), which keeps
mosaicml-streaming's state keys, so checkpoints move between the two libraries, and fixes what
that state gets wrong:
an end-of-epoch checkpoint resumes at the next epoch (the peer repeats the epoch).

`StreamingCursor`, the callback, is optional: it also saves the cursor among the callbacks'
states, resumes exactly when the checkpoint holds no dataset state (Composer then passes None),
and logs data-stall metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from composer.core import Callback, DataSpec, State
from composer.loggers import Logger
from composer.utils import dist

from streaming.dataset import StreamingDataset
from streaming.integrations import _rng
from streaming.integrations._cursor import CursorDataset, CursorLoader, build_dataset
from streaming.integrations._metrics import StallMeter
from streaming.loader import batch_length
from streaming.world import World

__all__ = ["StreamingCursor", "build_dataspec"]


def build_dataspec(
    *,
    batch_size: int,
    num_workers: int = 0,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    pin_memory: bool = False,
    persistent_workers: bool = False,
    prefetch_factor: int | None = None,
    drop_last: bool = False,
    transform: Callable[[Any], Any] | None = None,
    tokens_key: str | None = None,
    num_tokens: int | None = None,
    device_transform: Callable[[Any, int], Any] | None = None,
    dataset_class: type[StreamingDataset] = StreamingDataset,
    reader_options: dict[str, Any] | None = None,
    **dataset_kwargs: Any,
) -> DataSpec:
    """A Composer `DataSpec` streaming a `StreamingDataset`, resumable sample-exactly.

    Rank, world size and ranks per node are Composer's (``composer.utils.dist``: its process
    group, else what its launcher, ``composer -n N``, set), passed to the dataset as ``world=``.

    Args:
        batch_size: Per-device batch size (also the dataset's, which orders by it).
        num_workers: DataLoader workers per rank.
        collate_fn: DataLoader ``collate_fn``.
        pin_memory: DataLoader ``pin_memory``.
        persistent_workers: DataLoader ``persistent_workers``.
        prefetch_factor: DataLoader ``prefetch_factor`` (with workers only).
        drop_last: DataLoader ``drop_last``.
        transform: Applied to each sample (in the workers).
        tokens_key: The batch column holding tokens: a batch's token count is its element count.
        num_tokens: Tokens per epoch over all ranks, if known (Composer's ``num_tokens``).
        device_transform: ``(batch, epoch) -> batch`` run on the device batch (Composer's
            ``microbatch_transforms``, which run after the batch moved to the device; its
            ``batch_transforms`` run before, on the CPU), e.g.
            `streaming.integrations.vision.image_device_transform`.
        dataset_class: `StreamingDataset` or a typed reader (``StreamingImageNet``...); its
            own options go in `dataset_kwargs` too, or in `reader_options`.
        reader_options: Options of `dataset_class` beyond `StreamingDataset`'s, kept apart
            from this function's own (a reader's ``transform`` is not the per-sample
            `transform` above), as `StreamingDataModule` takes them.
        **dataset_kwargs: `StreamingDataset` arguments: ``remote``, ``local``, ``split``,
            ``streams``, ``shuffle``, ``shuffle_seed``, ``epoch_size``, ...

    Returns:
        The DataSpec: its ``num_samples`` is the epoch's size over all ranks, and it counts a
        batch's samples by its first column (as mosaicml-streaming does).
    """
    if persistent_workers and not num_workers:
        raise ValueError("`persistent_workers=True` needs `num_workers` > 0")
    reader = build_dataset(
        dataset_class, composer_world(),
        batch_size=batch_size, **dataset_kwargs, **(reader_options or {}),
    )  # fmt: skip
    dataset = CursorDataset(reader, transform)
    loader_kwargs: dict[str, Any] = {}
    if num_workers and prefetch_factor is not None:
        loader_kwargs["prefetch_factor"] = prefetch_factor
    loader = CursorLoader(
        dataset, batch_size=batch_size, num_workers=num_workers, collate_fn=collate_fn,
        pin_memory=pin_memory, persistent_workers=persistent_workers, drop_last=drop_last,
        **loader_kwargs,
    )  # fmt: skip
    return DataSpec(
        loader,
        num_samples=dataset.epoch_size,
        num_tokens=num_tokens,
        get_num_samples_in_batch=batch_length,
        get_num_tokens_in_batch=_token_counter(tokens_key) if tokens_key else None,
        microbatch_transforms=(
            (lambda batch: device_transform(batch, max(0, dataset.epoch)))
            if device_transform is not None
            else None
        ),
    )


def composer_world() -> World:
    """This rank's place in Composer's run (``composer.utils.dist``)."""
    return World.of(dist.get_global_rank(), dist.get_world_size(), dist.get_local_world_size())


def _token_counter(key: str) -> Callable[[Any], int]:
    def count(batch: Any) -> int:
        return int(batch[key].numel())

    return count


class StreamingCursor(Callback):
    """Carries the cursor in Composer checkpoints too, resumes exactly when a checkpoint has no
    dataset state, and logs data stalls.

    Composer passes None to ``dataset.load_state_dict`` for a checkpoint saved without a dataset
    state (an older run) and then trusts the dataset not to repeat samples. This callback then
    resumes the data at the cursor it saved itself (under ``state['callbacks']``) or, if there is
    none, where Composer's restored timestamp says (its epoch and the samples trained in it). It
    logs ``data/wait_s``, ``data/samples_per_s`` and the dataset's cache counters (see
    `streaming.integrations._metrics`) through Composer's loggers.

    Args:
        log_metrics: Log the data-stall metrics.
    """

    def __init__(self, log_metrics: bool = True) -> None:
        self.meter = StallMeter() if log_metrics else None
        self._state: State | None = None
        self._saved: dict[str, Any] | None = None
        self._samples = 0
        self._rng: list[dict[str, Any]] | None = None  # loaded RNG states (see _rng)

    def init(self, state: State, logger: Logger) -> None:
        self._state = state

    def state_dict(self) -> dict[str, Any]:
        """The cursor, as Composer saves it in ``dataset_state``."""
        dataset = _cursor_dataset(self._state) if self._state is not None else None
        rng = {"rng": _rng.capture_all_ranks()}  # every rank builds the checkpoint's state
        if dataset is None:
            return rng
        assert self._state is not None
        sample_in_epoch = int(self._state.timestamp.sample_in_epoch)
        return {"dataset": dataset.state_dict(sample_in_epoch, True), **rng}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._saved = state.get("dataset")
        self._rng = state.get("rng")

    def after_load(self, state: State, logger: Logger) -> None:
        self._resume_if_stateless(state)

    def fit_start(self, state: State, logger: Logger) -> None:
        self._resume_if_stateless(state)
        self._samples = int(state.timestamp.sample)
        if int(state.timestamp.batch_in_epoch) == 0:
            self._rng = None  # Composer restores its own RNG states at an epoch's start

    def after_dataloader(self, state: State, logger: Logger) -> None:
        if self._rng is not None:  # resumed mid-epoch: Composer restored no RNG state
            states, self._rng = self._rng, None
            _rng.restore_rank(states)
        if self.meter is not None:
            self.meter.batch_start()

    def batch_end(self, state: State, logger: Logger) -> None:
        if self.meter is None:
            return
        trained = int(state.timestamp.sample) - self._samples
        self._samples = int(state.timestamp.sample)
        dataset = _cursor_dataset(state)
        metrics = self.meter.batch_end(trained, dataset.dataset if dataset else None)
        if metrics:
            logger.log_metrics(metrics)

    def _resume_if_stateless(self, state: State) -> None:
        dataset = _cursor_dataset(state)
        if dataset is None:
            return
        _past_ended_epoch(dataset, state)
        if not dataset.awaits_trainer_position:
            return
        if self._saved is not None:
            dataset.load_state_dict(self._saved)
        else:
            timestamp = state.timestamp
            dataset.resume_at_trainer_position(int(timestamp.epoch), int(timestamp.sample_in_epoch))


def _past_ended_epoch(dataset: CursorDataset, state: State) -> None:
    """mosaicml-streaming saves the end of epoch ``e`` as ``(e, 0)``, which would replay epoch
    ``e``; Composer's restored timestamp (epoch ``e + 1``, nothing trained in it) says the epoch
    is over, so resume at the start of ``e + 1``."""
    loaded = dataset.take_loaded_state()
    if not loaded:
        return
    timestamp = state.timestamp
    epoch, sample_in_epoch = loaded.get("epoch"), loaded.get("sample_in_epoch")
    if sample_in_epoch == 0 and epoch is not None and int(timestamp.epoch) == epoch + 1 and (
        int(timestamp.sample_in_epoch) == 0
    ):
        dataset.load_state_dict({**loaded, "epoch": epoch + 1})


def _cursor_dataset(state: State) -> CursorDataset | None:
    loader = state.train_dataloader
    dataset = getattr(loader, "dataset", None)
    return dataset if isinstance(dataset, CursorDataset) else None
