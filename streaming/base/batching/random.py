"""``streaming.base.batching.random``: the ``random`` batching method."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from streaming.base.batching import generate_work


def generate_work_random_batching(
    dataset: Any, world: Any, epoch: int, sample_in_epoch: int
) -> NDArray[np.int64]:
    """The epoch's sample IDs with ``batching_method='random'`` (see `generate_work`)."""
    return generate_work("random", dataset, world, epoch, sample_in_epoch)


__all__ = ["generate_work_random_batching"]
