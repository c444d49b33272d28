"""``streaming.base.shuffle.py2s``: the py2s shuffle (see `streaming.ordering.shuffle`)."""

from streaming.ordering.shuffle import shuffle_py2s as get_shuffle_py2s

__all__ = ["get_shuffle_py2s"]
