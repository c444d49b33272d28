"""The node-local shard cache: fetch once per node, download ahead, evict LRU under a limit."""

from streaming.cache.node_cache import NodeCache
from streaming.cache.prefetch import Prefetcher, UsePlan

__all__ = ["NodeCache", "Prefetcher", "UsePlan"]
