"""``streaming.base.shuffle.py1e``: the py1e shuffle (see `streaming.ordering.shuffle`)."""

from streaming.ordering.shuffle import shuffle_py1e as get_shuffle_py1e

__all__ = ["get_shuffle_py1e"]
