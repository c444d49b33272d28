"""``streaming.base.format.base.writer``: the writers' base class (see `streaming.format.writer`).

The peer's ``JointWriter`` (one file per shard: MDS) and ``SplitWriter`` (data + meta: JSON and
XSV) are both our `Writer`.
"""

from streaming.format.writer import Writer

JointWriter = Writer
SplitWriter = Writer

__all__ = ["JointWriter", "SplitWriter", "Writer"]
