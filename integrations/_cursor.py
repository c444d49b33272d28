"""The cursor: which samples of the epoch were trained, saved in the trainer's checkpoint.

The problem: a resumed run must train exactly the samples an uninterrupted run would have, in
the same order. The dataset cannot tell how far training got by itself: DataLoader workers and
the trainer fetch batches ahead of training (Lightning prefetches a batch when the loader's
length is unknown; each worker prefetches ``prefetch_factor`` batches), the main process's copy
of the dataset is never iterated when there are workers, and only rank 0 writes the checkpoint.

So the number comes from the trainer: the samples *trained* so far in the epoch, over all ranks
(equal on every rank, so rank 0's copy is right for all). `CursorDataset` turns it into the
dataset's resumption state (mosaicml-streaming's keys), and both adapters are two translations of
that one call, ``dataset.state_dict(num_samples, from_beginning)``:

* Composer counts the trained samples itself and calls it (``State._dataset_state_dict``);
* the Lightning callback counts them in ``on_train_batch_end`` and calls it.

What the dataset's own state cannot say, and the cursor adds: whether the trainer is past the
epoch the dataset last played. Both trainers reset their count when an epoch's data runs out
(Composer's ``sample_in_epoch`` returns to 0; the Lightning callback does the same), so a count of
0 after every batch of the epoch was handed out (`CursorLoader` sees it) means "at the start of
the next epoch": a checkpoint taken at the end of an epoch resumes there, not at the end of the
finished epoch (an empty epoch, mosaicml-streaming's and Lightning's trap) nor at its start (a
repeated epoch, mosaicml-streaming's under Composer).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from torch.utils.data import DataLoader, IterableDataset

from streaming.dataset import StreamingDataset
from streaming.integrations._rng import loader_generator
from streaming.seeding import guarded_batches, seeded
from streaming.world import World, given_world

__all__ = ["CursorDataset", "CursorLoader", "build_dataset"]


def build_dataset(
    dataset_class: type[StreamingDataset], world: World, /, **kwargs: Any
) -> StreamingDataset:
    """``dataset_class(**kwargs, world=world)``: the dataset of the rank `world` (the trainer's).
    A class whose constructor has no ``world`` parameter (nor ``**kwargs``) is built inside
    `given_world`, which hands the world to `StreamingDataset.__init__` context-locally: nothing
    goes through ``os.environ``.

    Raises:
        TypeError: `kwargs` already has ``world``.
    """
    if "world" in kwargs:
        raise TypeError(
            "`world` is set by the adapter from the trainer's ranks: remove it from the dataset "
            "arguments"
        )
    try:
        params = inspect.signature(dataset_class).parameters.values()
    except (TypeError, ValueError):  # no signature to read: let the call tell
        params = None
    if params is not None and not any(
        p.name == "world" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params
    ):
        # A class with a fixed signature (the mosaicml-signature readers in streaming.vision,
        # .text, .multimodal): the world reaches StreamingDataset.__init__ context-locally.
        with given_world(world):
            return dataset_class(**kwargs)
    return dataset_class(**kwargs, world=world)


class CursorDataset(IterableDataset):
    """A `StreamingDataset` as the trainers see it: its samples (optionally transformed) and a
    resumption state that knows when the trainer is past an epoch.

    Args:
        dataset: The dataset to stream.
        transform: Applied to each sample where it is read (in the DataLoader workers).
    """

    def __init__(
        self, dataset: StreamingDataset, transform: Callable[[Any], Any] | None = None
    ) -> None:
        if not isinstance(dataset, StreamingDataset):
            raise TypeError(f"CursorDataset needs a StreamingDataset, got {type(dataset).__name__}")
        self.dataset = dataset
        self.transform = transform
        # The cursor's state, changed only through the methods below.
        self._ended_epoch: int | None = None  # the epoch whose batches all went to the trainer
        self._loaded_state: dict[str, Any] | None = None  # the last state loaded, until taken
        self._awaits_trainer_position = False  # loaded None: resume where the trainer says

    def __iter__(self) -> Iterator[Any]:
        if self.transform is None:
            yield from self.dataset
        else:
            transform = seeded(self.transform)  # per sample: streaming.seeding
            for sample in self.dataset:
                yield transform(sample)

    def __len__(self) -> int:
        """Samples per device per epoch (known, so Lightning does not prefetch to find the end)."""
        return len(self.dataset)

    @property
    def epoch_size(self) -> int:
        """Samples per epoch over all ranks."""
        return self.dataset.epoch_size

    @property
    def epoch(self) -> int:
        """The epoch being trained (-1 before the first one begins). A query: changes nothing."""
        return self.dataset.current_epoch

    @property
    def ended_epoch(self) -> int | None:
        """The epoch whose batches were all handed to the trainer (`end_epoch`), if any."""
        return self._ended_epoch

    @property
    def loaded_state(self) -> dict[str, Any] | None:
        """The state last given to `load_state_dict`, until `take_loaded_state` takes it."""
        return self._loaded_state

    @property
    def awaits_trainer_position(self) -> bool:
        """`load_state_dict(None)` was called and nothing resumed at the trainer's position yet
        (`resume_at_trainer_position`, `forget_trainer_position`)."""
        return self._awaits_trainer_position

    def end_epoch(self) -> None:
        """Every batch of the current epoch was handed to the trainer: a state saved with a count
        of 0 now resumes at the start of the next epoch."""
        self._ended_epoch = self.epoch

    def state_dict(self, num_samples: int, from_beginning: bool) -> dict[str, Any]:
        """The resumption state after `num_samples` trained samples of the current epoch,
        counted over all ranks as Composer counts them (mosaicml-streaming's keys; Composer calls
        this with its own count).

        Args:
            num_samples: Samples trained this epoch, over all ranks (replicas counted).
            from_beginning: True if counted from the epoch's start, False if from where this
                run resumed it.
        """
        num_ranks = self.dataset.world.num_ranks
        per_rank, uneven = divmod(int(num_samples), num_ranks)
        # Every rank trains as many samples per step, so the count is whole but at an epoch's
        # last, uneven batch: those samples are then all distinct (no replication) and exact.
        unique = num_samples if uneven else self.dataset.samples_in_epoch(per_rank)
        return self._state(unique, from_beginning)

    def trained_state(self, per_rank_samples: int) -> dict[str, Any]:
        """The resumption state after each rank trained `per_rank_samples` samples since this
        epoch began or this run resumed it (the Lightning callback's count)."""
        return self._state(self.dataset.samples_in_epoch(per_rank_samples), False)

    def _state(self, sample_in_epoch: int, from_beginning: bool) -> dict[str, Any]:
        state = self.dataset.state_dict(sample_in_epoch, from_beginning)
        if sample_in_epoch == 0 and state["epoch"] == self._ended_epoch:  # past the ended epoch
            state = {**state, "epoch": state["epoch"] + 1, "sample_in_epoch": 0}
        return state

    def load_state_dict(self, obj: dict[str, Any] | None) -> None:
        """Resume from `obj` at the next iteration (ours or mosaicml-streaming's state).

        None (Composer passes it for a checkpoint saved without a dataset state) means: resume
        where the trainer's own counters say, once it has loaded them
        (`resume_at_trainer_position`).
        """
        self._ended_epoch = None
        self._awaits_trainer_position = obj is None
        self._loaded_state = dict(obj) if obj is not None else None
        if obj is not None:
            self.dataset.load_state_dict(obj)

    def take_loaded_state(self) -> dict[str, Any] | None:
        """The state last loaded (None if none, or if already taken); it is taken only once."""
        state, self._loaded_state = self._loaded_state, None
        return state

    def resume_at_trainer_position(self, epoch: int, sample_in_epoch: int) -> None:
        """After ``load_state_dict(None)``: resume at the trainer's position instead (its epoch
        and the samples it trained of it, over all ranks), so no sample is repeated."""
        if self._awaits_trainer_position:
            self._awaits_trainer_position = False
            self.dataset.load_state_dict({"epoch": epoch, "sample_in_epoch": sample_in_epoch})

    def forget_trainer_position(self) -> bool:
        """Give up resuming at the trainer's position (the data restarts at the epoch's start);
        True if it was awaited."""
        awaited, self._awaits_trainer_position = self._awaits_trainer_position, False
        return awaited


class CursorLoader(DataLoader):
    """A DataLoader over a `CursorDataset` that tells it when an epoch's batches ran out.

    Its iterators start (and the dataset claims its next epoch) at their first batch, not when
    created, so an iterator a trainer creates and drops unused does not skip an epoch (Lightning
    does so when resuming from a checkpoint saved at the end of validation).
    """

    def __init__(self, dataset: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("generator", loader_generator())  # iterators draw nothing global
        super().__init__(dataset, *args, **kwargs)

    def __iter__(self) -> Iterator[Any]:
        def batches() -> Iterator[Any]:
            if self.dataset.forget_trainer_position():
                warnings.warn(
                    "Resuming from a checkpoint without a dataset state: the data restarts at "
                    "the start of the epoch. Add streaming.integrations.composer.StreamingCursor() "
                    "to the "
                    "Trainer's callbacks to resume where the trainer's counters say.",
                    stacklevel=2,
                )
            handed_out = 0
            main = self.num_workers == 0  # samples read here: one RNG save/restore a batch
            for batch in guarded_batches(DataLoader.__iter__(self), main):
                handed_out += 1
                if handed_out == len(self):  # Composer stops asking after len(loader) batches
                    self.dataset.end_epoch()
                yield batch
            self.dataset.end_epoch()

        return batches()
