"""``streaming.base.shuffle.py1br``: the py1br shuffle (see `streaming.ordering.shuffle`)."""

from streaming.ordering.shuffle import shuffle_py1br as get_shuffle_py1br

__all__ = ["get_shuffle_py1br"]
