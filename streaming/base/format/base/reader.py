"""``streaming.base.format.base.reader``: `Reader` (our `Shard`) and `FileInfo`."""

from __future__ import annotations

from dataclasses import dataclass, field

from streaming.format.shard import Shard as Reader

__all__ = ["FileInfo", "Reader"]


@dataclass
class FileInfo:
    """One shard file as ``index.json`` records it.

    Args:
        basename: The file name, relative to the dataset directory.
        bytes: Its size in bytes.
        hashes: Hash algorithm -> hex digest.
    """

    basename: str
    bytes: int
    hashes: dict[str, str] = field(default_factory=dict)
