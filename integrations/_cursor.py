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

import warnings
from collections.abc import Callable, Iterator
from typing import Any

from torch.utils.data import DataLoader, IterableDataset

from streaming.dataset import StreamingDataset
from streaming.integrations._rng import loader_generator
from streaming.seeding import seeded

__all__ = ["CursorDataset", "CursorLoader"]


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
        self.ended_epoch: int | None = None
        self.trainer_position_pending = False

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
        """The epoch being trained (-1 before the first one begins)."""
        return self.dataset.state_dict(0, True)["epoch"]

    def end_epoch(self) -> None:
        """Every batch of the current epoch was handed to the trainer: a state saved with a count
        of 0 now resumes at the start of the next epoch."""
        self.ended_epoch = self.epoch

    def state_dict(self, num_samples: int, from_beginning: bool) -> dict[str, Any]:
        """The resumption state after `num_samples` trained samples of the current epoch, over
        all ranks (mosaicml-streaming's keys; Composer calls this with its own count).

        Args:
            num_samples: Samples trained this epoch, over all ranks.
            from_beginning: True if counted from the epoch's start, False if from where this
                run resumed it.
        """
        state = self.dataset.state_dict(num_samples, from_beginning)
        if num_samples == 0 and state["epoch"] == self.ended_epoch:  # past the ended epoch
            state = {**state, "epoch": state["epoch"] + 1, "sample_in_epoch": 0}
        return state

    def load_state_dict(self, obj: dict[str, Any] | None) -> None:
        """Resume from `obj` at the next iteration (ours or mosaicml-streaming's state).

        None (Composer passes it for a checkpoint saved without a dataset state) means: resume
        where the trainer's own counters say, once it has loaded them
        (`resume_at_trainer_position`).
        """
        self.ended_epoch = None
        self.trainer_position_pending = obj is None
        self.loaded_state = dict(obj) if obj is not None else None
        if obj is not None:
            self.dataset.load_state_dict(obj)

    def resume_at_trainer_position(self, epoch: int, sample_in_epoch: int) -> None:
        """After ``load_state_dict(None)``: resume at the trainer's position instead (its epoch
        and the samples it trained of it, over all ranks), so no sample is repeated."""
        if self.trainer_position_pending:
            self.trainer_position_pending = False
            self.dataset.load_state_dict({"epoch": epoch, "sample_in_epoch": sample_in_epoch})


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
            if self.dataset.trainer_position_pending:
                self.dataset.trainer_position_pending = False
                warnings.warn(
                    "Resuming from a checkpoint without a dataset state: the data restarts at "
                    "the start of the epoch. Add streaming.integrations.composer.StreamingCursor() "
                    "to the "
                    "Trainer's callbacks to resume where the trainer's counters say.",
                    stacklevel=2,
                )
            handed_out = 0
            for batch in DataLoader.__iter__(self):
                handed_out += 1
                if handed_out == len(self):  # Composer stops asking after len(loader) batches
                    self.dataset.end_epoch()
                yield batch
            self.dataset.end_epoch()

        return batches()
