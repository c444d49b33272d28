"""The node-local shard cache: fetch once per node, download ahead, evict LRU under a limit.

Its parts are imported on first use: a process that only maps the node's epoch order
(`streaming.cache.shared_order`) does not load the shard cache.
"""

from streaming._lazy import lazy_getattr

_LAZY = {
    "NodeCache": "streaming.cache.node_cache",
    "NothingToEvictError": "streaming.cache.node_cache",
    "ShardInUseError": "streaming.cache.node_cache",
    "UnsafeCacheDirectoryError": "streaming.cache.paths",
    "cache_root": "streaming.cache.paths",
    "meta_dir": "streaming.cache.paths",
    "Prefetcher": "streaming.cache.prefetch",
    "ReadPlan": "streaming.cache.prefetch",
}

__getattr__ = lazy_getattr(__name__, _LAZY, submodules=True)

__all__ = sorted(_LAZY)
