"""``streaming.base.shuffle.naive``: the naive shuffle (see `streaming.ordering.shuffle`)."""

from streaming.ordering.shuffle import shuffle_naive as get_shuffle_naive

__all__ = ["get_shuffle_naive"]
