"""`StreamingDataLoader`: a ``torch.utils.data.DataLoader`` that counts the samples it yields, so
that its ``state_dict`` says where to resume (as mosaicml-streaming 0.13.0's).

A state loaded while persistent workers are alive reaches them at their next epoch (through
the dataset's anonymous shared record), as with a plain ``DataLoader``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from torch import Tensor
from torch.utils.data import DataLoader

from streaming.dataset import StreamingDataset

__all__ = ["StreamingDataLoader"]


def batch_length(batch: Any) -> int:
    """Samples in a collated batch: the length of its first value (the peer's rule)."""
    if isinstance(batch, Mapping):
        for value in batch.values():
            return len(value)
        raise ValueError("Batch is empty")
    if isinstance(batch, Tensor):
        return len(batch)
    return len(batch[0])


class StreamingDataLoader(DataLoader):
    """A DataLoader with ``state_dict``/``load_state_dict`` for a `StreamingDataset`.

    Takes the same arguments as ``torch.utils.data.DataLoader``. `num_samples_yielded` counts
    this rank's samples since the current ``__iter__`` began.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.num_samples_yielded = 0

    def __iter__(self) -> Iterator[Any]:
        self.num_samples_yielded = 0
        for batch in super().__iter__():
            self.num_samples_yielded += batch_length(batch)
            yield batch

    def state_dict(self) -> dict[str, Any] | None:
        """The dataset's resumption state after the samples yielded so far (None if the dataset
        is not a `StreamingDataset`)."""
        dataset = self.dataset
        if not isinstance(dataset, StreamingDataset):
            return None
        return dataset.state_dict(dataset.samples_in_epoch(self.num_samples_yielded), False)

    def load_state_dict(self, obj: dict[str, Any]) -> None:
        """Resume the dataset from `obj` at the next ``__iter__`` (persistent workers too)."""
        dataset = self.dataset
        if not isinstance(dataset, StreamingDataset):
            return
        dataset.load_state_dict(obj)

    def __del__(self) -> None:
        iterator = getattr(self, "_iterator", None)
        if iterator is not None and hasattr(iterator, "_shutdown_workers"):
            iterator._shutdown_workers()
