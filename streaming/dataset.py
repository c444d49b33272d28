"""`StreamingDataset`: mosaicml-streaming 0.13.0's dataset, sample for sample, without its
shared memory.

It mixes one or more `Stream`s, and each DataLoader worker of each rank yields, per epoch, its
part of the order of `streaming.ordering.generate_work` (the peer's bit-identical partition,
shuffle and mixing), so a run sees the same samples in the same order as with the peer, and a
checkpoint of either resumes in the other.

What differs from the peer, on purpose:

* No shared memory or process group: nothing in ``/dev/shm`` to leak, collide or clean (the
  peer's issues #717, #767, #884, #893). The node's part of each epoch's order is computed once
  per node, by the first process that needs it, into a file of the cache's private meta
  directory that the node's other processes map (`streaming.cache.shared_order`, coordinated
  by file locks and renames, keyed by everything the order depends on); under ``random``
  batching with ``py1e`` or no shuffle, only the node's own part is computed, window by window,
  and readers start on the first window (`streaming.ordering.node_order`).
* The epoch counter and a loaded resumption state are plain values on the dataset object
  (`streaming.state.EpochCursor`); each ``__iter__`` plays the next epoch. DataLoader workers
  iterate copies, so the counter also lives in one slot per worker of an anonymous shared array
  (no name, nothing to clean up), which workers inherit: epochs advance with persistent or
  non-persistent workers, with `StreamingDataLoader` or a plain ``DataLoader``, and the main
  process's ``state_dict`` sees the workers' epoch. A state loaded while persistent workers
  are alive reaches them at their next ``__iter__`` through a record in the same kind of
  anonymous shared array (the peer's workers read it from named shared memory).
* The node cache (`streaming.cache`) coordinates processes with file locks only: each shard is
  fetched once per node, a thread downloads ``predownload`` samples ahead of each reader, and
  eviction under ``cache_limit`` is LRU and skips shards in use and local-only data.
* ``state_dict()`` also works without arguments (torchdata's ``StatefulDataLoader`` calls it
  so, in each worker): the state after what this process's iteration yielded, per worker
  inside a worker. A dataset built without ``batch_size`` iterates with batches of 1 (a plain
  ``DataLoader``'s default) and warns, where the peer raises.
* ``state_dict`` only reads: the peer's assigns ``num_canonical_nodes``, ``shuffle_seed`` and
  ``shuffle_block_size`` when called; here an iteration adopts them when it claims its epoch,
  and ``current_epoch`` / ``resolved_settings()`` say what they are without changing anything.
* A trainer passes its ranks as ``world=`` (`streaming.world.World.of`) instead of through
  ``os.environ``; ``samples_in_epoch(per_rank_samples)`` is the one conversion of a per-rank
  count into the state's ``sample_in_epoch``.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from math import ceil
from typing import Any

import numpy as np
import numpy.random  # noqa: F401 (each epoch order draws from it: load it now, not in the first)
from torch.utils.data import IterableDataset, get_worker_info

from streaming.cache import NodeCache, Prefetcher, ReadPlan
from streaming.cache.paths import make_private_dirs, meta_dir
from streaming.cache.shared_order import NodeOrder, SharedOrderWarning, open_node_order
from streaming.format.shard_list import ShardChain, shard_file_bytes, shard_samples
from streaming.format.sizes import bytes_to_int
from streaming.ordering import (
    BATCHING_METHODS,
    SHUFFLE_ALGOS,
    OrderingSettings,
    StreamWeight,
    weigh_streams,
)
from streaming.ordering.batching import default_num_canonical_nodes, default_shuffle_block_size
from streaming.ordering.mixing import EmptyStreamError, parse_epoch_size
from streaming.ordering.partition import PARTITION_ALGOS
from streaming.registry import construct_from_registry, streams_registry
from streaming.state import (
    EpochCursor,
    Progress,
    ResolvedSettings,
    WorkerProgress,
    parse_state,
)
from streaming.stream import Stream
from streaming.worker_guard import guard_worker
from streaming.world import World, current_given_world

__all__ = ["StreamingDataset"]

logger = logging.getLogger(__name__)

#: Samples turned into Python lists at a time while iterating (not the whole epoch up front).


def _positive_int(name: str, value: Any, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer or None, got {value!r}")


class StreamingDataset(IterableDataset):
    """An iterable, resumable dataset over one or more streams, in mosaicml-streaming's order.

    Give either `streams`, or `remote`/`local` for a single stream. The stream settings
    (`split`, `download_retry`, `download_timeout`, `validate_hash`, `keep_zip`) are defaults
    for streams that leave them None.

    Args:
        streams: Streams to mix (see `Stream`'s `proportion`, `repeat`, `choose`).
        remote: Where the single stream's dataset lives: a local path, ``file://``, ``s3://``,
            ``gs://``, ``oci://`` or ``azure://`` URL.
        local: Its local directory.
        split: Sub-directory of `remote` and `local`.
        download_retry: Total attempts per file.
        download_timeout: Seconds per download.
        validate_hash: Hash algorithm to check shard files against, e.g. ``"xxh64"``.
        keep_zip: Keep compressed shard files after decompressing them.
        epoch_size: Samples per epoch over all streams (int or ``"100k"``); None: natural size.
        predownload: Samples to fetch ahead of each reader (per worker); None: 8 batches.
        cache_limit: Most bytes of cached shards (int or ``"10gb"``); least recently used idle
            shards of remote streams are evicted to stay under it. None: no limit.
        sampling_method: ``'balanced'`` or ``'fixed'``.
        sampling_granularity: Samples per pick for partial repeats.
        partition_algo: ``'orig'`` or ``'relaxed'``.
        num_canonical_nodes: Canonical nodes; None: the node count at the first start (64x
            that for ``py1s``/``py2s``).
        batch_size: Per-device batch size, as the DataLoader's. None: 1 (a plain
            ``DataLoader``'s default), with a warning at the first iteration.
        shuffle: Shuffle the samples.
        shuffle_algo: ``naive``, ``py1br``, ``py1e``, ``py1s`` or ``py2s``.
        shuffle_seed: Seed of all randomness (>= 0).
        shuffle_block_size: Shuffle block; None: ``max(4_000_000 // num_canonical_nodes, 2**18)``.
        batching_method: ``random``, ``stratified``, ``per_stream`` or ``device_per_stream``.
        allow_unsafe_types: Read ``pkl`` columns (runs code; trusted data only).
        replication: That many consecutive ranks get the same samples.
        stream_name: Name in `streams_registry` of the `Stream` class that the single stream
            (`remote`/`local`) is built with.
        stream_config: More keyword arguments for that class.
        world: This rank's place in the run (`World.of(rank, num_ranks, ranks_per_node)`), as
            the trainer knows it; None: detected from ``torch.distributed`` or the launcher's
            ``RANK``/``WORLD_SIZE``/``LOCAL_WORLD_SIZE``. Not one of the peer's arguments.
    """

    def __init__(
        self,
        *,
        streams: Sequence[Stream] | None = None,
        remote: str | None = None,
        local: str | None = None,
        split: str | None = None,
        download_retry: int = 2,
        download_timeout: float = 60.0,
        validate_hash: str | None = None,
        keep_zip: bool = False,
        epoch_size: int | str | None = None,
        predownload: int | None = None,
        cache_limit: int | str | None = None,
        sampling_method: str = "balanced",
        sampling_granularity: int = 1,
        partition_algo: str = "relaxed",
        num_canonical_nodes: int | None = None,
        batch_size: int | None = None,
        shuffle: bool = False,
        shuffle_algo: str = "py1e",
        shuffle_seed: int = 9176,
        shuffle_block_size: int | None = None,
        batching_method: str = "random",
        allow_unsafe_types: bool = False,
        replication: int | None = None,
        stream_name: str = "stream",
        stream_config: dict[str, Any] | None = None,
        world: World | None = None,
    ) -> None:
        if world is not None and not isinstance(world, World):
            raise TypeError(
                "`world` must be a streaming.world.World (e.g. World.of(rank, num_ranks, "
                f"ranks_per_node)) or None, got {type(world).__name__}"
            )
        if bool(streams) == (bool(remote) or bool(local)):
            raise ValueError("You must provide either `streams` or `remote`/`local`, but not both.")
        if sampling_method not in ("balanced", "fixed"):
            raise ValueError(
                f"Invalid sampling method: {sampling_method}. Must be one of `balanced` or `fixed`."
            )
        if (
            isinstance(sampling_granularity, bool)
            or not isinstance(sampling_granularity, int | np.integer)
            or sampling_granularity <= 0
        ):
            raise ValueError(
                "`sampling_granularity` must be a positive integer, but got: "
                f"{sampling_granularity}."
            )
        if batching_method not in BATCHING_METHODS:
            raise ValueError(
                f"Invalid batching method: {batching_method}. Must be one of "
                f"{', '.join(f'`{m}`' for m in BATCHING_METHODS)}."
            )
        if shuffle_seed < 0:
            raise ValueError(
                f"`shuffle_seed` must be a non-negative integer, but got: {shuffle_seed}."
            )
        if partition_algo not in PARTITION_ALGOS:
            raise ValueError(
                f"Invalid partition_algo: {partition_algo!r}. Must be one of "
                f"{', '.join(sorted(PARTITION_ALGOS))}."
            )
        if shuffle and shuffle_algo not in SHUFFLE_ALGOS:
            raise ValueError(
                f"Invalid shuffle_algo: {shuffle_algo!r}. Must be one of "
                f"{', '.join(SHUFFLE_ALGOS)}."
            )
        _positive_int("num_canonical_nodes", num_canonical_nodes)
        _positive_int("batch_size", batch_size)
        _positive_int("shuffle_block_size", shuffle_block_size)
        _positive_int("replication", replication)
        if predownload is not None and batch_size is not None and predownload < batch_size:
            warnings.warn(
                f"predownload < batch_size ({predownload} < {batch_size}). This may result in "
                "slower batch time. Recommendation is to set predownload to at-least batch_size.",
                stacklevel=2,
            )
        elif predownload is None:
            predownload = 8 * batch_size if batch_size is not None else 64
        epoch_size_value = parse_epoch_size(epoch_size)

        self.predownload = predownload
        self.cache_limit = cache_limit
        self.sampling_method = sampling_method
        self.sampling_granularity = int(sampling_granularity)
        self.partition_algo = partition_algo
        self.num_canonical_nodes = num_canonical_nodes
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.shuffle_algo = shuffle_algo
        self.shuffle_seed = shuffle_seed
        self.shuffle_block_size = shuffle_block_size
        self.batching_method = batching_method
        self.allow_unsafe_types = allow_unsafe_types
        self.replication = replication
        self.initial_physical_nodes: int | None = None
        self.epoch_seed_change = shuffle and sampling_method == "balanced"

        if world is None:
            world = current_given_world()  # an adapter's `given_world` block
        self._rank_world = World.detect() if world is None else world.rank_world()
        self._parallel_rank_world = self._rank_world.replicate(replication)

        default = {
            "remote": remote,
            "local": local,
            "split": split,
            "download_retry": download_retry,
            "download_timeout": download_timeout,
            "validate_hash": validate_hash,
            "keep_zip": keep_zip,
        }
        if streams:
            streams = list(streams)
            for stream in streams:
                stream.apply_default(default)
        else:
            streams = [
                construct_from_registry(
                    stream_name,
                    streams_registry,
                    partial_function=False,
                    kwargs={**(stream_config or {}), **default},
                )
            ]
            streams[0].apply_default(default)
        self.streams = streams
        self.num_streams = len(streams)

        self.shards = ShardChain()  # lazy: a shard's reader is built when first read
        stream_per_shard: list[int] = []
        self.shard_offset_per_stream = np.zeros(self.num_streams, np.int64)
        self.shards_per_stream = np.zeros(self.num_streams, np.int64)
        self.sample_offset_per_stream = np.zeros(self.num_streams, np.int64)
        self.samples_per_stream = np.zeros(self.num_streams, np.int64)
        num_samples = 0
        for stream_id, stream in enumerate(streams):
            stream_shards = stream.get_shards(allow_unsafe_types)
            count = int(shard_samples(stream_shards).sum())
            if not count:
                raise EmptyStreamError(
                    f"Stream contains no samples: {os.path.join(stream.dirname, 'index.json')}."
                )
            stream_per_shard += [stream_id] * len(stream_shards)
            self.shard_offset_per_stream[stream_id] = len(self.shards)
            self.shards_per_stream[stream_id] = len(stream_shards)
            self.sample_offset_per_stream[stream_id] = num_samples
            self.samples_per_stream[stream_id] = count
            self.shards += stream_shards
            num_samples += count
        self.num_samples = num_samples
        self.stream_per_shard = np.array(stream_per_shard, np.int64)
        self.num_shards = len(self.shards)
        self.samples_per_shard = shard_samples(self.shards)
        self.sample_offset_per_shard = self.samples_per_shard.cumsum() - self.samples_per_shard
        self._shard_ends = self.samples_per_shard.cumsum()
        self._check_cache_limit()
        self._cache = NodeCache(streams, self.shards, stream_per_shard, self.cache_limit or None)
        self._any_remote = any(not stream.local_only for stream in streams)

        weights = weigh_streams(
            self.samples_per_stream,
            [StreamWeight(s._proportion, s._repeat, s._choose) for s in streams],
            epoch_size_value,
            shuffle_seed,
        )
        for stream, p, r, c in zip(
            streams, weights.proportion, weights.repeat, weights.choose, strict=True
        ):
            stream.proportion, stream.repeat, stream.choose = float(p), float(r), int(c)
        self._weights = weights
        self.epoch_size = weights.epoch_size
        self.length = ceil(self.epoch_size / self._parallel_rank_world.num_ranks)

        self._cursor = EpochCursor()

    # ---- sizes and random access -------------------------------------------------------------

    @property
    def size(self) -> int:
        """Unique samples over all streams."""
        return self.num_samples

    def __len__(self) -> int:
        """Samples per device per epoch: ``ceil(epoch_size / ranks)``."""
        return self.length

    def cache_stats(self) -> dict[str, int]:
        """Shard cache counters of this rank (its process and its DataLoader workers): shards
        found in the cache (``hits``), fetched from the remote (``misses``), and
        ``bytes_downloaded``. The Lightning and Composer adapters log them."""
        return self._cache.stats()

    @property
    def next_epoch(self) -> int:
        """The epoch the next ``__iter__`` plays unless a loaded state says otherwise."""
        return self._cursor.latest()

    def _check_cache_limit(self) -> None:
        if not self.cache_limit:
            return
        if isinstance(self.cache_limit, str):
            self.cache_limit = bytes_to_int(self.cache_limit)
        min_usage = sum(stream.index_size() for stream in self.streams)
        if self.cache_limit <= min_usage:
            raise ValueError(
                f"Minimum cache usage ({min_usage} bytes) is larger than the cache limit "
                f"({self.cache_limit} bytes). Please raise `cache_limit`."
            )
        largest = int(shard_file_bytes(self.shards).max())
        if self.cache_limit < 4 * largest:
            raise ValueError(
                f"Cache limit ({self.cache_limit} bytes) is too low. Increase the `cache_limit` "
                f"to at-least four times the largest shard size ({largest} bytes) which "
                "includes raw (decompressed) and zip (compressed) file size."
            )

    def get_item(self, sample_id: int) -> dict[str, Any]:
        """Sample `sample_id` (0 <= id < size), fetching its shard first if it is not local."""
        if not 0 <= sample_id < self.num_samples:
            raise IndexError(
                f"Sample index {sample_id} is out of range for {self.num_samples} samples"
            )
        shard_id = int(np.searchsorted(self._shard_ends, sample_id, side="right"))
        shard = self.shards[shard_id]
        index = sample_id - int(self.sample_offset_per_shard[shard_id])
        try:
            return shard.get_item(index)
        except FileNotFoundError:
            self._cache.acquire(shard_id)  # fetch it, safe from eviction until it is open
            try:
                return shard.get_item(index)
            finally:
                self._cache.release(shard_id)

    def __getitem__(self, at: Any) -> Any:
        """A sample by index (negative counts from the end); a list of them for a slice, a list
        or a 1-D int array."""
        if isinstance(at, int | np.integer) and not isinstance(at, bool):
            at = int(at)
            if -self.num_samples <= at < 0:
                at += self.num_samples
            return self.get_item(at)
        if isinstance(at, slice):
            return [self.get_item(i) for i in range(*at.indices(self.num_samples))]
        if isinstance(at, list | tuple | np.ndarray):
            return [self[sub] for sub in at]
        raise ValueError(f"Unsupported argument type passed to __getitem__: {type(at)}.")

    # ---- ordering -----------------------------------------------------------------------------

    def _resolve(self, presumed_epoch: int) -> tuple[int, int, ResolvedSettings]:
        """The peer's ``_resume``, without side effects: (epoch, sample_in_epoch, settings) for
        `presumed_epoch`, with a pending loaded state's values and the defaults applied."""
        state = self._cursor.pending(presumed_epoch)
        num_canonical_nodes = self.num_canonical_nodes
        shuffle_seed = self.shuffle_seed
        initial_physical_nodes = self.initial_physical_nodes
        if state is not None:
            if state.num_canonical_nodes is not None:
                num_canonical_nodes = state.num_canonical_nodes
            if state.shuffle_seed is not None:
                shuffle_seed = state.shuffle_seed
            initial_physical_nodes = state.initial_physical_nodes
        settings = self._with_defaults(num_canonical_nodes, shuffle_seed, initial_physical_nodes)
        if state is None:
            return presumed_epoch, 0, settings
        return state.epoch, state.sample_in_epoch, settings

    def _with_defaults(
        self,
        num_canonical_nodes: int | None,
        shuffle_seed: int,
        initial_physical_nodes: int | None,
    ) -> ResolvedSettings:
        if not num_canonical_nodes:
            num_canonical_nodes = default_num_canonical_nodes(
                self.shuffle_algo, self._parallel_rank_world.num_nodes
            )
        shuffle_block_size = self.shuffle_block_size  # sticky once set, as the peer's
        if shuffle_block_size is None:
            shuffle_block_size = default_shuffle_block_size(num_canonical_nodes)
        return ResolvedSettings(
            num_canonical_nodes, shuffle_seed, shuffle_block_size, initial_physical_nodes
        )

    def _own_settings(self) -> ResolvedSettings:
        """The settings adopted so far, with defaults for those not resolved yet."""
        return self._with_defaults(
            self.num_canonical_nodes, self.shuffle_seed, self.initial_physical_nodes
        )

    def _adopt(self, settings: ResolvedSettings) -> None:
        """Play with `settings` from now on (when an iteration claims its epoch)."""
        self.num_canonical_nodes = settings.num_canonical_nodes
        self.shuffle_seed = settings.shuffle_seed
        self.shuffle_block_size = settings.shuffle_block_size
        self.initial_physical_nodes = settings.initial_physical_nodes

    @property
    def world(self) -> World:
        """This rank's place in the run (given as ``world=`` or detected at construction)."""
        return self._rank_world

    @property
    def current_epoch(self) -> int:
        """The epoch being played or last played (-1 before the first one), or the epoch of a
        loaded state the next iteration resumes. A query: changes nothing."""
        return self._resolve(self._cursor.latest() - 1)[0]

    def resolved_settings(self) -> ResolvedSettings:
        """``num_canonical_nodes``, ``shuffle_seed``, ``shuffle_block_size`` and
        ``initial_physical_nodes`` as the current (or next) epoch plays them: a loaded state's
        values and the defaults applied. A query: changes nothing (iterating adopts them)."""
        return self._resolve(self._cursor.latest() - 1)[2]

    def samples_in_epoch(self, per_rank_samples: int) -> int:
        """The state's ``sample_in_epoch`` after each rank trained `per_rank_samples` samples of
        the epoch: ``per_rank_samples * ranks // replication`` (the unique samples trained)."""
        if isinstance(per_rank_samples, bool) or per_rank_samples < 0:
            raise ValueError(
                f"samples_in_epoch: per_rank_samples must be a count >= 0, got {per_rank_samples!r}"
            )
        return int(per_rank_samples) * self._rank_world.num_ranks // (self.replication or 1)

    def _settings(self) -> OrderingSettings:
        if self.batch_size is None:
            warnings.warn(
                "StreamingDataset was built without `batch_size`: using 1, the default batch size "
                "of a plain DataLoader. Pass StreamingDataset(batch_size=...) equal to the "
                "DataLoader's batch_size: with any other DataLoader batch size, a resumed run "
                "does not continue with the same samples (inexact resume).",
                stacklevel=3,
            )
            self.batch_size = 1
        own = self._own_settings()
        return OrderingSettings.from_weights(
            [
                tuple(
                    int(n)
                    for n in self.samples_per_shard[
                        self.shard_offset_per_stream[i] : self.shard_offset_per_stream[i]
                        + self.shards_per_stream[i]
                    ]
                )
                for i in range(self.num_streams)
            ],
            self._weights,
            batch_size=self.batch_size,
            num_canonical_nodes=own.num_canonical_nodes,
            partition_algo=self.partition_algo,
            shuffle=self.shuffle,
            shuffle_algo=self.shuffle_algo,
            shuffle_seed=own.shuffle_seed,
            shuffle_block_size=own.shuffle_block_size,
            sampling_method=self.sampling_method,
            sampling_granularity=self.sampling_granularity,
            initial_physical_nodes=own.initial_physical_nodes,
        )

    def epoch_sample_ids(self, epoch: int, sample_in_epoch: int = 0) -> np.ndarray:
        """The sample IDs this rank/worker yields in `epoch` from `sample_in_epoch` on, with the
        settings adopted so far (the defaults for those no iteration resolved yet)."""
        order, rank, worker = self._node_order(epoch, sample_in_epoch)
        chunks = list(order.worker_ids(rank, worker))
        return np.concatenate(chunks) if chunks else np.empty(0, np.int64)

    def _node_order(self, epoch: int, sample_in_epoch: int) -> tuple[NodeOrder, int, int]:
        """This node's part of the epoch's order (computed once per node and shared through
        the cache's meta directory), and this process's rank and worker in it."""
        world = self._rank_world.detect_workers()
        parallel = world.replicate(self.replication)
        directory: str | None = None
        try:
            directory = make_private_dirs(meta_dir(self.streams[0].dirname), "orders")
        except OSError as e:
            warnings.warn(
                f"No cache directory to share the epoch order through ({e}): every process "
                "of this node computes it for itself.",
                SharedOrderWarning,
                stacklevel=3,
            )
        order = open_node_order(
            directory,
            self.batching_method,
            self._settings(),
            world.topology,
            epoch,
            sample_in_epoch,
            self.replication,
            parallel.node,
        )
        return order, parallel.rank_of_node, parallel.worker_of_rank

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Yield this rank's (and DataLoader worker's) samples of the next epoch, in order.

        The epoch is claimed when ``__iter__`` is called (torchdata's ``StatefulDataLoader``
        saves a worker's state right after that call); outside DataLoader workers, a state
        loaded between this call and the first sample still applies, as with the peer."""
        in_worker = get_worker_info() is not None
        if in_worker:
            guard_worker()  # exits when the trainer dies, SIGKILL included
            self._cursor.sync()
        presumed = self._cursor.presumed(self._rank_world.detect_workers().worker_of_rank)
        resume = self._cursor.resume
        progress, ids = self._claim(presumed, in_worker)
        return self._play(progress, ids, presumed, resume, in_worker)

    def _claim(self, presumed: int, in_worker: bool) -> tuple[Progress, Iterator[np.ndarray]]:
        """Start epoch `presumed` (or a loaded state's) for this process: its progress record
        and the sample IDs it still has to yield (chunks, each as soon as the node's shared
        order makes it final)."""
        world = self._rank_world.detect_workers()
        pending = self._cursor.pending(presumed)
        epoch, sample_in_epoch, settings = self._resolve(presumed)
        self._adopt(settings)
        self._cursor.advance(world.worker_of_rank, epoch)
        order, rank, worker_of_rank = self._node_order(epoch, sample_in_epoch)
        worker = (world.worker_of_rank, world.workers_per_rank) if in_worker else None
        skip = 0
        if pending is not None and pending.worker is not None:
            skip = self._worker_skip(pending.worker, worker)
        total = lambda: order.worker_count(rank, worker_of_rank)  # noqa: E731 - waits for it
        progress = Progress(epoch, sample_in_epoch, worker, total, skip, skip)
        self._cursor.progress = progress
        return progress, order.worker_ids(rank, worker_of_rank, skip)

    @staticmethod
    def _worker_skip(saved: WorkerProgress, worker: tuple[int, int] | None) -> int:
        if worker != (saved.id, saved.num_workers):
            where = (
                "outside DataLoader workers"
                if worker is None
                else (f"in DataLoader worker {worker[0]} of {worker[1]}")
            )
            raise ValueError(
                f"This dataset state was saved by DataLoader worker {saved.id} of "
                f"{saved.num_workers} and is being resumed {where}: a per-worker state resumes "
                f"only in worker {saved.id} of a DataLoader with num_workers={saved.num_workers} "
                "(torchdata's StatefulDataLoader hands each worker its own state)"
            )
        return saved.yielded

    def _play(
        self,
        progress: Progress,
        ids: np.ndarray,
        presumed: int,
        resume: Any,
        in_worker: bool,
    ) -> Iterator[dict[str, Any]]:
        # A state loaded in this process between ``__iter__`` and the first sample applies, as
        # with the peer's lazy start. Not in DataLoader workers: their epoch is fixed when the
        # worker (re)starts its iterator (the peer's workers fix it together, at a barrier), so
        # a worker slow to reach its first sample never takes a state meant for the next one.
        if not in_worker and self._cursor.resume is not resume:
            progress, ids = self._claim(presumed, in_worker)
        for sample in self._read(ids):
            progress.yielded += 1
            yield sample

    def _read(self, chunks: Iterator[np.ndarray]) -> Iterator[dict[str, Any]]:
        """Yield the samples whose IDs come in `chunks`, in order, fetching their shards ahead
        (planned a chunk ahead of the reader, `ReadPlan`).

        A subclass that overrides ``get_item`` or ``__getitem__`` (the typed readers,
        llm-foundry's datasets) gets each sample through it, as with the peer; otherwise the
        shard decodes it directly."""
        shards = self.shards
        cls = type(self)
        # Per-sample seeding (streaming.seeding): what a reader or a transform draws is a
        # function of (seed, epoch, sample id); the key is recorded for the adapters' transform.
        from streaming.seeding import SampleKey, sample_rng, set_current_sample

        seed, epoch = int(self.shuffle_seed), int(self._cursor.progress.epoch)
        by_index = (
            cls.get_item is not StreamingDataset.get_item
            or cls.__getitem__ is not StreamingDataset.__getitem__
        )
        shard_offsets = self.sample_offset_per_shard.tolist()
        if by_index:

            def read(shard_id: int, index: int) -> Any:
                key = SampleKey(seed, epoch, index)
                set_current_sample(key)
                with sample_rng(key):
                    return self[index]
        else:

            def read(shard_id: int, index: int) -> Any:
                set_current_sample(SampleKey(seed, epoch, shard_offsets[shard_id] + index))
                return shards[shard_id].get_item(index)

        def located(ids: np.ndarray) -> tuple[np.ndarray, list[int]]:
            shard_of = np.searchsorted(self._shard_ends, ids, side="right")
            index = ids if by_index else ids - self.sample_offset_per_shard[shard_of]
            return shard_of, index.tolist()

        if not self._any_remote:
            for ids in chunks:
                shard_of, index = located(ids)
                for shard_id, i in zip(shard_of.tolist(), index, strict=True):
                    yield read(shard_id, i)
            return
        yield from self._read_remote(chunks, located, read)

    def _read_remote(self, chunks: Iterator[np.ndarray], located: Any, read: Any) -> Iterator[Any]:
        """`_read` with shards acquired ahead by a `Prefetcher` and released after their use."""
        plan = ReadPlan()
        prefetch = Prefetcher(self._cache, self.predownload)
        released: Counter[int] = Counter()
        position = 0
        try:
            current = next(chunks, None)
            while current is not None:
                following = next(chunks, None)
                shard_of, index = located(current)
                ahead = None
                if following is not None:
                    ahead = np.searchsorted(self._shard_ends, following, side="right")
                is_first, is_last = plan.plan(shard_of, ahead)
                tickets = {
                    int(at): prefetch.add(position + int(at), int(shard_of[at]))
                    for at in np.flatnonzero(is_first).tolist()
                }
                if following is None:
                    prefetch.end()
                lasts = is_last.tolist()
                for at, (shard_id, i) in enumerate(zip(shard_of.tolist(), index, strict=True)):
                    prefetch.position = position
                    ticket = tickets.get(at)
                    if ticket is not None:
                        prefetch.wait(ticket)
                    yield read(shard_id, i)
                    position += 1
                    if lasts[at]:
                        self._cache.release(shard_id)
                        released[shard_id] += 1
                current = following
        finally:
            prefetch.end()
            acquired = Counter(prefetch.stop())
            for shard_id, count in (acquired - released).items():
                for _ in range(count):
                    self._cache.release(shard_id)

    # ---- resumption ---------------------------------------------------------------------------

    def state_dict(
        self, num_samples: int | None = None, from_beginning: bool = True
    ) -> dict[str, Any]:
        """The resumption state after `num_samples` samples of the current epoch (over all
        ranks, counting unique samples under replication).

        Called with no arguments (as torchdata's ``StatefulDataLoader`` does), the state after
        what this process's current iteration has yielded so far; inside a DataLoader worker,
        that worker's own position (key ``"worker"``), which resumes only in the same worker
        of a DataLoader with as many workers.

        Args:
            num_samples: Samples trained on so far this epoch.
            from_beginning: True if `num_samples` counts from the epoch's start; False if from
                where this run resumed (`StreamingDataLoader` counts so).
        """
        world = self._parallel_rank_world
        progress = self._cursor.progress
        worker: WorkerProgress | None = None
        if num_samples is None and progress is not None:
            epoch, sample_in_epoch = progress.epoch, progress.sample_in_epoch
            settings = self._own_settings()  # adopted by the iteration
            if progress.worker is not None:
                worker = WorkerProgress(*progress.worker, progress.yielded)
            elif progress.yielded >= progress.total_count():
                sample_in_epoch = max(sample_in_epoch, self.epoch_size)
            else:
                sample_in_epoch += self.samples_in_epoch(progress.yielded)
        else:
            epoch, offset, settings = self._resolve(
                self._cursor.latest() - int(num_samples is not None)
            )
            if num_samples is None:
                sample_in_epoch = offset
                pending = self._cursor.pending(epoch)
                worker = pending.worker if pending is not None else None
            else:
                sample_in_epoch = num_samples if from_beginning else offset + num_samples
        state: dict[str, Any] = {
            "epoch": epoch,
            "sample_in_epoch": sample_in_epoch,
            "num_canonical_nodes": settings.num_canonical_nodes,
            "shuffle_seed": settings.shuffle_seed,
            "initial_physical_nodes": world.num_nodes
            if settings.initial_physical_nodes is None
            else settings.initial_physical_nodes,
        }
        if worker is not None:
            state["worker"] = worker.as_dict()
        return state

    def load_state_dict(self, obj: dict[str, Any]) -> None:
        """Resume from `obj` (ours or mosaicml-streaming's ``state_dict``) at the next
        ``__iter__``; ignored if its epoch is behind the epoch that iteration would play.

        Loaded outside DataLoader workers, the state also reaches persistent workers that are
        already running, at their next ``__iter__``."""
        self._cursor.load(parse_state(obj), share=get_worker_info() is None)

    # ---- the peer's cache and resampling methods -----------------------------------------------

    def prepare_shard(self, shard_id: int, blocking: bool = True) -> None:
        """Make shard `shard_id` local (fetch, check, decompress), evicting others under
        ``cache_limit`` (the peer's ``prepare_shard``). With ``blocking=False``, return at
        once if another process is fetching it."""
        cache = self._cache
        if not blocking and cache.is_remote(shard_id):
            from streaming.cache.locks import try_exclusive

            with try_exclusive(cache._lock(shard_id, "fetch")) as free:
                if not free:
                    return
        cache.prepare(shard_id)

    def evict_shard(self, shard_id: int) -> None:
        """Delete shard `shard_id`'s cached files (the peer's ``evict_shard``); its next use
        fetches it again. Shards of streams without a remote are never deleted.

        Raises:
            ShardInUseError: A process is reading the shard (the peer deletes it regardless).
        """
        self._cache.evict(shard_id)

    def evict_coldest_shard(self) -> None:
        """Delete the least recently used cached shard (the peer's ``evict_coldest_shard``).

        Raises:
            NothingToEvictError: No idle cached shard (a ValueError, as the peer's).
        """
        self._cache.evict_coldest()

    def resample_streams(
        self, epoch: int, stream_id: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The peer's ``resample_streams``: this epoch's up/down-sampling of all streams (or of
        stream `stream_id`): ``(shuffle_units, sample_ids)``, the resampled shard sizes and the
        sample ID behind each resampled sample."""
        from streaming.ordering.mixing.resample import resample_streams

        sizes = [
            self.samples_per_shard[o : o + n]
            for o, n in zip(self.shard_offset_per_stream, self.shards_per_stream, strict=True)
        ]
        return resample_streams(
            sizes,
            self._weights.choose,
            seed=self.shuffle_seed,
            epoch=epoch,
            sampling_method=self.sampling_method,
            sampling_granularity=self.sampling_granularity,
            shuffle=self.shuffle,
            stream_id=stream_id,
        )
