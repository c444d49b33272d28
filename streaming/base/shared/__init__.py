"""mosaicml-streaming's shared-memory primitives (``SharedArray``, ``SharedBarrier``,
``SharedMemory``, ``SharedScalar``, ``get_shm_prefix``): absent here, by design."""

from streaming.base._absent import absent

raise absent(
    "streaming.base.shared",
    "nothing: StreamingDataset, Stream and the DataLoader need no shared memory set up, and "
    "streaming.base.util.clean_stale_shared_memory() is a no-op kept for old call sites.",
)
