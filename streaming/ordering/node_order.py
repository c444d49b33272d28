"""One node's part of an epoch's work, computed by that node alone, and window by window.

`generate_work` computes every node's, rank's and worker's samples, so a process that keeps only
its own slice pays for the whole run (at 10^8 samples, seconds and more than a GB). `node_work`
describes one physical node's part, ``generate_work(...)[node]``, bit for bit, and
`NodeWork.fill` writes it into any array (a memory-mapped file that the node's other processes
read while it is written), calling ``publish(k)`` as the node list's first ``k`` positions
become final; `worker_ready` says how much of a worker's slice that makes final.

**Fast path** (``windowed``; O(N / nodes) memory, and the node's own work only). It is taken for
``random`` batching, ``orig`` partitioning (or ``relaxed`` where it is ``orig``: always when the
node count divides ``num_canonical_nodes``), with at most as many physical nodes (after
``replication``) as canonical nodes and a node count that divides them, at least as many samples
as canonical nodes (no tiling), no rank padding short of samples, and either no shuffle or
``py1e`` (the default). Any stream mixing (``choose``, ``proportion``, ``epoch_size``) is served:
the resampling is computed whole (as large as the epoch's IDs when it is not the identity) and
applied to the node's entries only.

* Physical node ``p`` of ``P`` owns canonical nodes ``c = p, p + P, ...`` (``C`` of them in all):
  position ``r * C + c`` of the canonical order is row ``r`` of canonical node ``c``, and goes to
  node ``(r * C + c) % P``. Its list is those nodes' rows interleaved, row after row, a node one
  sample short repeating its last sample, from the first position left after the resume point.
* Without shuffle the rows are the canonical nodes' samples in order: written chunk by chunk.
* With ``py1e``, the canonical nodes before and between the owned ones only advance the
  generator; the owned ones are sorted window by window, in lockstep
  (`streaming.ordering.shuffle.py1e_windows`). The first publish waits for the generator to pass
  every canonical node up to the last owned one (their shuffles' draws are sequential: about
  15 ns per sample on a 2-core development machine), and for the first window of each owned
  node; it does not wait for any sort or per-sample array of the rest. A resume starts each
  owned node at the window holding its first row read. The "block smaller than a span" warning is
  given for the spans of canonical nodes up to the last owned one (``generate_work`` looks at
  every node's).

**Fallback** (``windowed`` False): every other case (``stratified``, ``per_stream`` and
``device_per_stream`` batching; the shuffles ``naive``, ``py1s``, ``py2s`` and ``py1br``; more
physical than canonical nodes; a ``relaxed`` re-cut for a new node count; tiled or tiny
datasets). `node_work` computes ``generate_work(...)[node]`` itself (so that its errors and
warnings come from there, and the shape is known) and `NodeWork.fill` copies it and publishes
the total once.

The dtype is the smallest of int8/16/32/64 that holds ``-1`` and the largest sample ID of the
dataset (the sum of its streams' shard sizes, less one), whichever path is taken.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from streaming.ordering.batching import generate_work
from streaming.ordering.batching.batches import resample
from streaming.ordering.batching.settings import BatchingWarning, OrderingSettings, Topology
from streaming.ordering.partition.settings import nodes_divide
from streaming.ordering.shuffle.py1e_windows import (
    RESUME_MARGIN,
    ResumeMarginMissed,
    WindowedNode,
    plan_py1e,
    start_nodes,
)

__all__ = ["NodeWork", "node_work", "worker_ready"]

Publish = Callable[[int], None]
WRITE_ROWS_ENTRIES = 1 << 20  # node-list entries written (and published) at a time


@dataclass(frozen=True)
class NodeWork:
    """One node's part of an epoch's work, and how to compute it."""

    shape: tuple[int, int, int, int]  # (ranks per node, workers per rank, batches per worker,
    #                                   batch size) of the (replicated) topology
    dtype: np.dtype  # smallest of int8/int16/int32/int64 holding every sample ID and -1
    windowed: bool  # True when fill() publishes progress before the end
    _fill: Callable[[np.ndarray, Publish], None] = field(repr=False, compare=False)

    def fill(self, out: np.ndarray, publish: Callable[[int], None]) -> None:
        """Write the node's part into `out` (shape `shape`, dtype `dtype`, C order, any writable
        array incl. an np.memmap).

        Calls ``publish(k)`` with non-decreasing ``k`` whenever node-list positions ``[0, k)``
        are final in `out`; the last call is ``publish(total)`` with ``total = prod(shape)``
        (every entry, ``-1`` padding included, final)."""
        if out.shape != self.shape or out.dtype != self.dtype or not out.flags.c_contiguous:
            raise ValueError(
                f"NodeWork.fill needs a C-ordered {self.dtype} array of shape {self.shape}, got "
                f"{out.dtype} of shape {out.shape}"
                + ("" if out.flags.c_contiguous else " (not C-contiguous)")
            )
        self._fill(out, publish)


def node_work(
    batching_method: str,
    settings: OrderingSettings,
    topology: Topology,
    epoch: int,
    sample_in_epoch: int,
    replication: int | None,
    node: int,
) -> NodeWork:
    """Node `node`'s part of ``generate_work(batching_method, settings, topology, epoch,
    sample_in_epoch, replication)``: `node` indexes ``topology.replicate(replication)``.

    Validation as `generate_work` (same errors and warnings, raised here, not in `fill`).

    Raises:
        ValueError: `node` is not a node of the replicated topology, or as `generate_work`.
    """
    job = _fast_job(batching_method, settings, topology, epoch, sample_in_epoch, replication)
    num_nodes = job.num_nodes if job is not None else topology.replicate(replication).num_nodes
    if not 0 <= node < num_nodes:
        raise ValueError(
            f"node={node} is not a node of this run: it has {num_nodes} nodes (after "
            f"replication={replication}); pass 0 to {num_nodes - 1}"
        )
    dtype = _id_dtype(settings)
    if job is None:
        return _fallback(
            batching_method, settings, topology, epoch, sample_in_epoch, replication, node, dtype
        )
    if replication is not None and replication > 1 and sample_in_epoch:
        warnings.warn(
            f"replication={replication}: resuming from sample {sample_in_epoch}, which must "
            "count unique samples (samples yielded per rank x ranks // replication), as the "
            "dataset's state_dict does; otherwise training resumes from the wrong sample",
            BatchingWarning,
            stacklevel=2,
        )
    return NodeWork(job.shape, dtype, True, lambda out, publish: job.fill(node, out, publish))


def _id_dtype(settings: OrderingSettings) -> np.dtype:
    largest = sum(sum(sizes) for sizes in settings.shard_sizes) - 1
    for dtype in (np.int8, np.int16, np.int32):
        if largest <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def _fallback(
    batching_method: str,
    settings: OrderingSettings,
    topology: Topology,
    epoch: int,
    sample_in_epoch: int,
    replication: int | None,
    node: int,
    dtype: np.dtype,
) -> NodeWork:
    work = generate_work(batching_method, settings, topology, epoch, sample_in_epoch, replication)
    part = work[node].astype(dtype)  # a copy: the other nodes' parts are freed
    del work

    def fill(out: np.ndarray, publish: Publish) -> None:
        out[...] = part
        publish(part.size)

    shape = part.shape
    return NodeWork((shape[0], shape[1], shape[2], shape[3]), dtype, False, fill)


@dataclass(frozen=True)
class _FastJob:
    """What the fast path needs, validated (see the module docstring)."""

    settings: OrderingSettings
    epoch: int
    num_nodes: int  # P, physical nodes after replication
    canonical: int  # C
    ranks: int
    workers: int
    batch: int
    units: NDArray[np.int64]
    small_per_big: NDArray[np.int64] | None
    first_position: int  # d: node-list positions dropped by the resume point

    @property
    def num_big(self) -> int:
        return int(self.units.sum())

    @property
    def per_row(self) -> int:
        return -(-self.num_big // self.canonical)

    @property
    def owned_per_node(self) -> int:  # m
        return self.canonical // self.num_nodes

    @property
    def count(self) -> int:
        """Node-list positions left after the resume point (before rank padding)."""
        return max(self.per_row * self.owned_per_node - self.first_position, 0)

    @property
    def missing(self) -> int:
        return -self.count % self.ranks

    @property
    def shape(self) -> tuple[int, int, int, int]:
        per_rank = (self.count + self.missing) // self.ranks
        rounds = -(-per_rank // (self.workers * self.batch))
        return (self.ranks, self.workers, rounds, self.batch)

    def fill(self, node: int, out: np.ndarray, publish: Publish) -> None:
        """Write node `node`'s part into `out`, publishing as rows become final."""
        writer = DealtWriter(out, self.count, self.missing)
        m, d, per_row = self.owned_per_node, self.first_position, self.per_row
        sources, clipped = self._sources(node, RESUME_MARGIN)
        row = min(d // m, per_row)
        rows_per_write = max(1, WRITE_ROWS_ENTRIES // m)
        while True:
            try:
                for source in sources:
                    source.step()
            except ResumeMarginMissed:  # before any row is final: start again, whole reach
                sources, clipped = self._sources(node, None)
                continue
            final = min(per_row if s.done else s.final_rows for s in sources)
            while row < final:
                end = min(final, row + rows_per_write)
                self._write_rows(writer, sources, row, end)
                row = end
                publish(min(max(end * m - d, 0), self.count))
            if all(s.done for s in sources):
                break
        writer.finish()
        if clipped or any(getattr(s, "clipped", False) for s in sources):
            warnings.warn(
                f"Shuffle block_size {self.settings.block_size} is smaller than some shards' "
                "spans: those spans are not mixed with their neighbours. Set a larger "
                "shuffle_block_size for a better shuffle.",
                stacklevel=3,
            )
        publish(out.size)

    def _write_rows(self, writer: DealtWriter, sources: list, begin: int, end: int) -> None:
        m, d = self.owned_per_node, self.first_position
        rows = np.arange(begin, end, dtype=np.int64)
        block = np.empty((end - begin, m), np.int64)
        for j, source in enumerate(sources):
            block[:, j] = source.values(rows)
        flat = block.reshape(-1)[max(d - begin * m, 0) :]
        if self.small_per_big is not None:
            flat = self.small_per_big[flat]
        writer.write(max(begin * m - d, 0), flat)

    def _sources(self, node: int, margin: int | None) -> tuple[list, bool]:
        """One source per owned canonical node (`margin` as `py1e_windows.skip_below`'s), and
        whether the nodes passed over clipped."""
        owned = list(range(node, self.canonical, self.num_nodes))
        num_big = self.num_big
        bounds = [num_big * c // self.canonical for c in range(self.canonical + 1)]
        if self.count == 0:
            return [_Done()], False
        if not self.settings.shuffle:
            return [_Identity(bounds[c], bounds[c + 1]) for c in owned], False
        plan = plan_py1e(
            self.units,
            self.canonical,
            self.settings.shuffle_seed,
            self.epoch,
            self.settings.block_size,
        )
        dtype = np.int32 if num_big < 1 << 31 else np.int64
        m, d = self.owned_per_node, self.first_position
        first_rows = [max(0, -(-(d - j) // m)) for j in range(m)]  # the rows the list reads
        starts, clipped = start_nodes(plan, owned, dtype, first_rows, margin)
        sources = [
            _Sorted(WindowedNode(plan, start, first_row, margin))
            for start, first_row in zip(starts, first_rows, strict=True)
        ]
        return sources, clipped


class _Sorted:
    """A py1e node source, read by row (a row past its end repeats its last sample)."""

    def __init__(self, source: WindowedNode) -> None:
        self.source = source

    @property
    def done(self) -> bool:
        return self.source.done

    @property
    def final_rows(self) -> int:
        return self.source.final_rows

    @property
    def clipped(self) -> bool:
        return self.source.clipped

    def step(self) -> None:
        self.source.step()

    def values(self, rows: NDArray[np.int64]) -> NDArray:
        ids = self.source.ids
        return ids[np.minimum(rows, len(ids) - 1)]


class _Identity:
    """An unshuffled canonical node: samples ``[begin, end)`` in order."""

    done = True
    final_rows = 0

    def __init__(self, begin: int, end: int) -> None:
        self.begin, self.last = begin, end - 1

    def step(self) -> None:
        pass

    def values(self, rows: NDArray[np.int64]) -> NDArray[np.int64]:
        return np.minimum(rows + self.begin, self.last)


class _Done(_Identity):
    """No rows are needed (the resume point is past the node's samples)."""

    def __init__(self) -> None:
        super().__init__(0, 1)


def _fast_job(
    batching_method: str,
    settings: OrderingSettings,
    topology: Topology,
    epoch: int,
    sample_in_epoch: int,
    replication: int | None,
) -> _FastJob | None:
    """The fast path's job, or None where the fallback serves (bad settings included: then
    `generate_work` raises its own error)."""
    if batching_method != "random" or settings.num_canonical_nodes is None:
        return None
    if settings.shuffle and settings.shuffle_algo != "py1e":
        return None
    try:
        if int(epoch) != epoch or int(sample_in_epoch) != sample_in_epoch:
            return None
        epoch, sample_in_epoch = int(epoch), int(sample_in_epoch)
        if epoch < 0 or sample_in_epoch < 0:
            return None
        replicated = topology.replicate(replication)
        batch = settings.checked_batch_size()
        canonical = int(settings.num_canonical_nodes)
        if settings.shuffle and settings.block_size < 1:
            return None
    except (ValueError, TypeError, RuntimeError):
        return None
    nodes, ranks = replicated.num_nodes, replicated.ranks_per_node
    if canonical < 1 or canonical < nodes or canonical % nodes:
        return None
    algo = settings.partition_algo
    if algo not in ("orig", "relaxed"):
        return None
    if algo == "relaxed" and not (
        settings.initial_physical_nodes is None or nodes_divide(canonical, nodes)
    ):
        return None  # (unreachable while canonical % nodes == 0: kept for clarity)
    try:
        units, small_per_big = resample(settings, epoch)
    except ValueError:
        return None
    num_big = int(units.sum())
    devices = nodes * ranks
    if num_big < max(canonical, 1) or sample_in_epoch > num_big + devices - num_big % devices:
        return None
    job = _FastJob(
        settings,
        epoch,
        nodes,
        canonical,
        ranks,
        replicated.workers_per_rank,
        batch,
        units,
        small_per_big,
        (sample_in_epoch - sample_in_epoch % nodes) // nodes,
    )
    if job.missing and ranks + job.missing - 1 > job.count:
        return None  # too few samples per rank: the partition repeats them with a warning
    return job


def worker_ready(k: int, shape: tuple[int, int, int, int], rank: int, worker: int) -> int:
    """How many leading entries of ``out[rank, worker].ravel()`` are final when node-list
    positions ``[0, k)`` are.

    Node-list position ``q * ranks + rank`` is rank `rank`'s sample ``q``, which worker
    ``(q // batch) % workers`` yields as slot ``q % batch`` of its batch ``q // (workers *
    batch)``; a worker's entries, in order, are therefore its rank's positions in order."""
    ranks, workers, rounds, batch = shape
    final = max(0, -(-(k - rank) // ranks))  # rank positions [0, final) are final
    whole, rest = divmod(final, workers * batch)
    return min(whole * batch + min(max(rest - worker * batch, 0), batch), rounds * batch)


class DealtWriter:
    """Writes node-list positions into a node's ``(ranks, workers, batches, batch)`` array.

    Position ``t`` is rank ``t % ranks``'s sample ``q = t // ranks``: worker ``(q // batch) %
    workers``, batch ``q // (workers * batch)``, slot ``q % batch``. Whole rounds (one batch of
    every worker of every rank) are written with one strided assignment, the rest one by one.
    """

    def __init__(self, out: np.ndarray, count: int, missing: int) -> None:
        self.out, self.count, self.missing = out, count, missing
        self.ranks, self.workers, _, self.batch = out.shape
        self.round = self.ranks * self.workers * self.batch

    def write(self, begin: int, values: NDArray) -> None:
        """``list[begin : begin + len(values)] = values``."""
        end = begin + len(values)
        head = min(end, -(-begin // self.round) * self.round)
        tail = max(head, end // self.round * self.round)
        if head > begin:
            self._scatter(begin, values[: head - begin])
        if tail > head:
            first, last = head // self.round, tail // self.round
            rounds = values[head - begin : tail - begin]
            shape = (last - first, self.workers, self.batch, self.ranks)
            self.out[:, :, first:last, :] = rounds.reshape(shape).transpose(3, 1, 0, 2)
        if end > tail:
            self._scatter(tail, values[tail - begin :])

    def finish(self) -> None:
        """Write the rank padding (repeated samples, as `partition_orig`) and the ``-1`` tail."""
        if self.missing:
            stop = self.count - self.ranks + 1
            repeated = self.out[self._where(np.arange(stop - self.missing, stop))]
            self._scatter(self.count, repeated)
        begin = self.count + self.missing
        self.write(begin, np.full(self.out.size - begin, -1, self.out.dtype))

    def _where(self, positions: NDArray[np.int64]) -> tuple[NDArray[np.int64], ...]:
        sample, rank = np.divmod(positions, self.ranks)
        batch, rest = np.divmod(sample, self.workers * self.batch)
        worker, slot = np.divmod(rest, self.batch)
        return rank, worker, batch, slot

    def _scatter(self, begin: int, values: NDArray) -> None:
        self.out[self._where(np.arange(begin, begin + len(values), dtype=np.int64))] = values
