"""``streaming.base.compression``: shard compression (see `streaming.format.compression`).

``compress(None, data)`` and ``decompress(None, data)`` return `data`, as the peer's do.
"""

from streaming.format.compression import (
    compress,
    decompress,
    get_compression_extension,
    get_compressions,
    is_compression,
)

__all__ = [
    "compress",
    "decompress",
    "get_compression_extension",
    "get_compressions",
    "is_compression",
]
