"""``streaming.base.constant``: the peer's constants.

`DEFAULT_TIMEOUT` (seconds per download) and `TICK` (a polling interval) keep their meaning.
The shared-memory and file-lock names are kept so imports resolve, but name nothing here: this
library creates no shared memory (see `streaming.base.util.clean_stale_shared_memory`).
"""

LOCALS = "locals"
BARRIER = "barrier"
NEXT_EPOCH = "next_epoch"
CACHE_USAGE = "cache_usage"
SHARD_STATES = "shard_states"
SHARD_ACCESS_TIMES = "shard_access_times"
RESUME = "resume"
EPOCH_SHAPE = "epoch_shape"
EPOCH_DATA = "epoch_data"
SHM_TO_CLEAN = [
    LOCALS, BARRIER, NEXT_EPOCH, CACHE_USAGE, SHARD_STATES, SHARD_ACCESS_TIMES, RESUME,
    EPOCH_SHAPE, EPOCH_DATA,
]  # fmt: skip
BARRIER_FILELOCK = "barrier_filelock"
CACHE_FILELOCK = "cache_filelock"

#: Seconds between polls.
TICK = 0.007

#: Default seconds per download (``download_timeout``).
DEFAULT_TIMEOUT = 60.0
