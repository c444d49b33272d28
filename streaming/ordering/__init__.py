"""Sample ordering: partitioning, shuffling, stream mixing and batching as pure functions of the
settings."""

from streaming.ordering.batching import (
    BATCHING_METHODS,
    BatchingWarning,
    OrderingSettings,
    Topology,
    generate_work,
)
from streaming.ordering.mixing import (
    StreamWeight,
    StreamWeights,
    resample_streams,
    weigh_streams,
)
from streaming.ordering.shuffle import (
    SHUFFLE_ALGOS,
    divide_spans,
    get_shuffle,
    shuffle_naive,
    shuffle_py1br,
    shuffle_py1e,
    shuffle_py1s,
    shuffle_py2s,
)

__all__ = [
    "BATCHING_METHODS",
    "BatchingWarning",
    "OrderingSettings",
    "StreamWeight",
    "StreamWeights",
    "Topology",
    "generate_work",
    "resample_streams",
    "weigh_streams",
    "SHUFFLE_ALGOS",
    "divide_spans",
    "get_shuffle",
    "shuffle_naive",
    "shuffle_py1br",
    "shuffle_py1e",
    "shuffle_py1s",
    "shuffle_py2s",
]
