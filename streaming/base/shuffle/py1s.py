"""``streaming.base.shuffle.py1s``: the py1s shuffle (see `streaming.ordering.shuffle`)."""

from streaming.ordering.shuffle import shuffle_py1s as get_shuffle_py1s

__all__ = ["get_shuffle_py1s"]
