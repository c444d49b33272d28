"""``streaming.base.hashing``: the shard hash algorithms (see `streaming.format.hashing`)."""

from streaming.format.hashing import get_hash, get_hashes, is_hash

__all__ = ["get_hash", "get_hashes", "is_hash"]
