"""The node-local shard cache: fetch once per node, download ahead, evict LRU under a limit.

Its parts are imported on first use: a process that only maps the node's epoch order
(`streaming.cache.shared_order`) does not load the shard cache.
"""

from streaming._lazy import by_module, lazy_getattr

_LAZY = by_module(
    {
        "streaming.cache.node_cache": ("NodeCache", "NothingToEvictError", "ShardInUseError"),
        "streaming.cache.paths": ("UnsafeCacheDirectoryError", "cache_root", "meta_dir"),
        "streaming.cache.prefetch": ("Prefetcher", "ReadPlan"),
    }
)

__getattr__ = lazy_getattr(__name__, _LAZY, submodules=True)

__all__ = sorted(_LAZY)
