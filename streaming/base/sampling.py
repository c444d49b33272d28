"""``streaming.base.sampling``: how many samples to draw from each shard of a stream."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from streaming.ordering.mixing.resample import sample_shards


def get_sampling(
    samples_per_shard: NDArray[np.int64],
    choose: int,
    granularity: int,
    seed: int,
    epoch: int,
    use_epoch: bool,
) -> NDArray[np.int64]:
    """Samples to draw from each shard of one stream this epoch (the peer's ``get_sampling``).

    Args:
        samples_per_shard: Samples in each of the stream's shards.
        choose: Samples to draw from the stream.
        granularity: Samples per pick when drawing part of a stream.
        seed: The run's seed.
        epoch: The epoch.
        use_epoch: Whether the draw changes every epoch (``sampling_method='balanced'``).
    """
    return sample_shards(samples_per_shard, choose, granularity, seed, epoch, use_epoch)


__all__ = ["get_sampling"]
