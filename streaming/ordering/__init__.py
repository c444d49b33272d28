"""Sample ordering: partitioning, shuffling and batching as pure functions of the settings."""

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
    "SHUFFLE_ALGOS",
    "divide_spans",
    "get_shuffle",
    "shuffle_naive",
    "shuffle_py1br",
    "shuffle_py1e",
    "shuffle_py1s",
    "shuffle_py2s",
]
