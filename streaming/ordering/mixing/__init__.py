"""Stream mixing: each stream's samples per epoch, and the per-epoch up/down-sampling.

* `weigh_streams` resolves every stream's ``proportion``/``repeat``/``choose`` (and the dataset's
  ``epoch_size``) into samples per epoch, once per dataset.
* `resample_streams` turns those into this epoch's shuffle units and big-to-small sample map.
  (`resample_streams_lazily` leaves that map out when it is the identity.)

Both are bit-identical to mosaicml-streaming 0.13.0 for the same settings.
"""

from streaming.ordering.mixing.resample import SAMPLING_METHODS, resample_streams, sample_shards
from streaming.ordering.mixing.weights import (
    EmptyStreamError,
    StreamWeight,
    StreamWeightError,
    StreamWeights,
    parse_epoch_size,
    weigh_streams,
)

__all__ = [
    "SAMPLING_METHODS",
    "EmptyStreamError",
    "StreamWeight",
    "StreamWeightError",
    "StreamWeights",
    "parse_epoch_size",
    "resample_streams",
    "sample_shards",
    "weigh_streams",
]
