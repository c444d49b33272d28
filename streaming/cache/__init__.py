"""The node-local shard cache: fetch once per node, download ahead, evict LRU under a limit."""

from streaming.cache.node_cache import NodeCache, NothingToEvictError, ShardInUseError
from streaming.cache.paths import UnsafeCacheDirectoryError, cache_root, meta_dir
from streaming.cache.prefetch import Prefetcher, ReadPlan

__all__ = [
    "NodeCache",
    "NothingToEvictError",
    "Prefetcher",
    "ShardInUseError",
    "UnsafeCacheDirectoryError",
    "ReadPlan",
    "cache_root",
    "meta_dir",
]
