"""py1e for some canonical nodes only, each produced window by window.

`shuffle_py1e` draws from one generator, node after node: for each canonical node, the shuffle of
every span, then every span's window and jitter (`draw_positions`), then the sort by position.
A physical node that serves only some canonical nodes still has to make every draw of the nodes
before its own, to reach their state; it makes them on small scratch buffers (the draws of
``rng.shuffle`` depend only on the length, those of ``uniform`` only on the count: ``random``
with ``out=`` makes the same ones), and builds no per-sample array for a node it does not own.
`start_nodes` does that pass once, shuffles each owned node's spans for real, and captures the
generator where each owned node's positions start.

Then each owned node is produced by `WindowedNode`, which draws positions span by span and sorts
them with `sort_by_position`'s sweep as they become final, and tells how many of its leading sorted
samples (rows) are final. A span's samples move back by at most ``(high - 1) / 2`` (``high`` the
largest window, ``int(1.25 * block_size)``), so once the spans up to index ``X`` are drawn, every
position below ``X - high / 2`` is final. Its first rows are final after about ``high`` samples'
draws, whatever the node's size. On a resume it starts at the first row it is asked for: it
sorts from `RESUME_MARGIN` positions below that row and counts the samples below (the spans
that lie wholly before are drawn on scratch, the rest sorted), checks once that count is final
that it does not exceed the row, and otherwise the caller starts it again from a whole reach
below (`ResumeMarginMissed`).

Equal positions are ordered as ``np.argsort`` of the whole node orders them, which no window can
know. Two sums ``i + shift`` round to the same float about once per node of 10^8 samples, so a
large node usually has a few. When the sweep meets the first, `TieOrder` draws the node's
positions again and sorts them with ``np.argsort`` in a background thread (numpy releases the
GIL), while the sweep goes on; rows from the first tie on are held back until the argsort has
reordered the tied IDs (`position_sort.order_ties_as_argsort`). Rows before the first tie are
final as soon as they are written.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from streaming.ordering.shuffle.draws import (
    draw_span_positions,
    shuffle_segments,
    skip_positions,
    skip_shuffles,
)
from streaming.ordering.shuffle.position_sort import PositionSweep, order_ties_as_argsort
from streaming.ordering.shuffle.py1e import draw_positions
from streaming.ordering.shuffle.spans import (
    part_sample_bounds,
    plan_epoch_spans,
    segment_positions,
    starts_of,
)

WINDOW_BITS = 17  # the sweep's windows of position values, as sort_by_position's
DRAW_SAMPLES = 1 << 18  # samples whose positions a WindowedNode draws per step
#: How far below a resume's first row a node starts sorting, first (`skip_below`); a miss,
#: which is checked, falls back to a position's whole reach (`ResumeMarginMissed`).
RESUME_MARGIN = 1 << 16


class ResumeMarginMissed(Exception):
    """More samples than the first row read lie below `skip_below`: restart with margin None."""


@dataclass(frozen=True)
class Py1ePlan:
    """The epoch's spans (O(spans)) and the generator after the span orders were drawn."""

    first_ids: NDArray[np.int64]  # each span's first ID, spans in this epoch's order
    span_sizes: NDArray[np.int64]
    part_bounds: NDArray[np.int64]  # canonical node c owns spans part_bounds[c]:part_bounds[c+1]
    sample_bounds: list[int]  # canonical node c owns samples [bounds[c], bounds[c + 1])
    rng: np.random.Generator
    low: int
    high: int

    def node_spans(self, node: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """``(first_ids, span_sizes)`` of canonical node `node`'s spans."""
        begin, end = int(self.part_bounds[node]), int(self.part_bounds[node + 1])
        return self.first_ids[begin:end], self.span_sizes[begin:end]


def plan_py1e(
    shard_sizes: ArrayLike, num_canonical_nodes: int, seed: int, epoch: int, block_size: int
) -> Py1ePlan:
    """`Py1ePlan` for py1e over these shuffle units (raises py1e's errors)."""
    first_ids, span_sizes, part_bounds, rng = plan_epoch_spans(
        shard_sizes, num_canonical_nodes, seed, epoch
    )
    num_samples = int(span_sizes.sum())
    if num_samples < num_canonical_nodes:
        raise ValueError(
            f"py1e cannot give each of the {num_canonical_nodes} canonical nodes a sample: the "
            f"dataset has only {num_samples}. Check the shard sizes in index.json, or lower "
            f"num_canonical_nodes."
        )
    if block_size < 1:
        raise ValueError(f"py1e needs a shuffle block_size of at least 1, got {block_size}")
    bounds = part_sample_bounds(num_samples, num_canonical_nodes)
    low, high = int(0.75 * block_size), int(1.25 * block_size)
    return Py1ePlan(first_ids, span_sizes, part_bounds, bounds, rng, low, high)


@dataclass
class NodeStart:
    """An owned canonical node before its positions: its spans, the IDs of those shuffled so
    far, and the generator states where its remaining shuffles and its positions start."""

    node: int
    first_ids: NDArray[np.int64]
    span_sizes: NDArray[np.int64]
    ids: NDArray[np.signedinteger]  # spans [0, shuffled) written and shuffled, the rest not
    shuffled: int
    shuffle_rng: np.random.Generator  # where the shuffle of span `shuffled` starts
    positions_rng: np.random.Generator  # where its positions start


def skip_below(first_row: int, length: int, high: int, margin: int | None = None) -> int:
    """Positions below this are not sorted for a node read from row `first_row` on, only
    counted; the count must not exceed the first row read, ``min(first_row, length - 1)`` (a
    row past the node's end reads its last).

    With `margin` None that always holds: a sample there has an index below ``skip_below +
    high / 2 + 1``, so fewer than `first_row` samples are. A smaller `margin` (`RESUME_MARGIN`)
    draws one reach fewer: the count then stays below `first_row` unless about
    ``margin / sqrt(high)`` standard deviations more samples moved down across it than up,
    and `WindowedNode` checks it (`ResumeMarginMissed`)."""
    reach = high // 2 + 2
    return max(0, min(first_row, length - 1) - (reach if margin is None else min(reach, margin)))


def passed_spans(ends: NDArray[np.int64], below: int, plan: Py1ePlan) -> int:
    """How many leading spans (given their ends) lie wholly before position `below`, counting
    how far back a sample can move: a node read from `skip_below` on only draws them."""
    return int(np.searchsorted(ends, below - (plan.high / 2 + 1), side="right"))


def start_nodes(
    plan: Py1ePlan,
    owned: list[int],
    dtype: type[np.signedinteger],
    first_rows: list[int],
    margin: int | None = None,
) -> tuple[list[NodeStart], bool]:
    """The one pass over canonical nodes ``0 .. max(owned)``, capturing the generator where each
    owned node's shuffles and positions start. No array is built for a node passed over
    (`draws.skip_shuffles`, `draws.skip_positions`). An owned node read from its first rows
    shuffles for real the spans its first rows need (about `DRAW_SAMPLES` more than a
    position's reach); the rest of its spans only draw here, and are shuffled by its
    `WindowedNode` when it reaches them.

    Returns:
        ``(starts, clipped)``: a `NodeStart` per owned node (in `owned`'s order, read from
        ``first_rows``, `margin` as `skip_below`'s), and whether a span of a node passed over
        was larger than its window.
    """
    rng, clipped = plan.rng, False
    starts: dict[int, NodeStart] = {}
    first_row = dict(zip(owned, first_rows, strict=True))
    last = max(owned)
    for node in range(last + 1):
        first_ids, sizes = plan.node_spans(node)
        if node in owned:
            ids = np.empty(int(sizes.sum()), dtype)
            ends = np.cumsum(sizes)
            # Spans [0, passed) are passed over (`WindowedNode.step`); [passed, eager) hold the
            # first rows read and the samples that can move into them.
            below = skip_below(first_row[node], len(ids), plan.high, margin)
            passed = passed_spans(ends, below, plan)
            needed = min(first_row[node], len(ids)) + plan.high // 2 + 1 + DRAW_SAMPLES
            eager = max(passed, int(np.searchsorted(ends - sizes, needed, side="left")))
            skip_shuffles(rng, sizes[:passed])
            begin, end = (int(ends[k - 1]) if k else 0 for k in (passed, eager))
            segment_positions(first_ids[passed:eager], sizes[passed:eager], out=ids[begin:end])
            shuffle_segments(rng, ids[begin:end], sizes[passed:eager])
            shuffle_rng = copy.deepcopy(rng)
            skip_shuffles(rng, sizes[eager:])
            starts[node] = NodeStart(
                node, first_ids, sizes, ids, eager, shuffle_rng, copy.deepcopy(rng)
            )
        else:
            skip_shuffles(rng, sizes)
        if node != last:
            clipped |= skip_positions(rng, sizes, plan.low, plan.high)
    return [starts[node] for node in owned], clipped


class TieOrder:
    """``np.argsort`` of a node's positions, for the tie repair, computed in a background thread.

    The positions are drawn again from where the node's positions start (`draw_positions`, the
    node's draws exactly), so the sweep never keeps them: 16 bytes per sample of the node, held
    only while the repair is pending. They are drawn before the thread starts, while the sweep
    waits: a fraction of a second at 10^8 samples, where drawn beside the sweep they took twice
    as long, and the argsort (the repair's critical path) cannot start without them.
    """

    def __init__(self, plan: Py1ePlan, start: NodeStart) -> None:
        positions, _ = draw_positions(
            copy.deepcopy(start.positions_rng), start.span_sizes.tolist(), plan.low, plan.high
        )
        self.positions: NDArray[np.float64] | None = positions
        self.reference: NDArray[np.intp] | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="streaming-py1e-ties", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.reference = np.argsort(self.positions)
        except BaseException as error:  # noqa: BLE001 (raised again by `apply`)
            self.error = error

    def apply(self, ids: NDArray, starts: list[NDArray], sizes: list[NDArray]) -> None:
        """Wait for the argsort, then reorder each group of tied IDs (written at ``starts``, in
        index order) as it orders them."""
        self.thread.join()
        if self.error is not None:
            raise self.error
        assert self.positions is not None and self.reference is not None
        order_ties_as_argsort(
            ids, self.positions, np.concatenate(starts), np.concatenate(sizes), self.reference
        )
        self.positions = self.reference = None


class WindowedNode:
    """A canonical node sorted window by window: `step` draws the positions of about
    `DRAW_SAMPLES` more samples and sorts those that are final, in place in the node's `ids`.

    Rows ``[first_row, final_rows)`` of `ids` are final (rows before `first_row` may be left
    unsorted: a resume does not read them); `done` once every row is.
    """

    def __init__(
        self, plan: Py1ePlan, start: NodeStart, first_row: int = 0, margin: int | None = None
    ) -> None:
        self.plan, self.start = plan, start
        self.rng = copy.deepcopy(start.positions_rng)
        self.shuffle_rng = copy.deepcopy(start.shuffle_rng)
        self.sizes = start.span_sizes.tolist()
        self.offsets = starts_of(start.span_sizes).tolist()
        self.ends = np.cumsum(start.span_sizes)
        self.ids = start.ids  # spans from start.shuffled on are shuffled as they are drawn
        self.length = len(self.ids)
        self.reach = plan.high / 2 + 1  # no position is below its span's start less this
        self.skip_below = skip_below(first_row, self.length, plan.high, margin)
        self.passed = passed_spans(self.ends, self.skip_below, plan)  # spans only drawn
        self.first_read = min(first_row, self.length - 1)  # a row past the end reads the last
        self.below = 0  # samples counted below `skip_below`
        self.checked = margin is None or not self.skip_below  # `below <= first_read` known
        self.sweep = PositionSweep(self.ids, None, WINDOW_BITS)  # type: ignore[arg-type]
        self.sweep.next_window = self.skip_below >> WINDOW_BITS
        self.inverse_width = 1.0 / (1 << WINDOW_BITS)
        self.span = 0  # the next span to draw
        self.drawn = 0  # samples [0, drawn) have positions
        self.positions = np.empty(0, np.float64)  # a step's positions, reused
        self.ties: TieOrder | None = None
        self.final_rows = 0
        self.done = False
        self.clipped = False

    def step(self) -> None:
        """Draw the next spans' positions and sort every window that is then final."""
        if self.done:
            return
        skipped, begin = 0, self.drawn
        first_span = self.span
        low, high = self.plan.low, self.plan.high
        # Spans wholly before `skip_below` (a resume passes over them): their draws only.
        passed = self.passed
        if passed > self.span:
            self.clipped |= skip_positions(
                self.rng, self.start.span_sizes[self.span : passed], low, high
            )
            begin = int(self.ends[passed - 1])
            skipped, self.drawn, self.span = begin - self.drawn, begin, passed
            self.below += skipped
        end = self.span  # draw spans [span, end): up to the first that ends past the target
        if self.span < len(self.sizes):
            target = self.drawn + DRAW_SAMPLES
            end = min(int(np.searchsorted(self.ends, target)) + 1, len(self.sizes))
        self._shuffle(first_span, end)
        self.sweep.written += skipped  # rows below every position still to come
        if end > self.span:
            count = int(self.ends[end - 1]) - begin
            if len(self.positions) < count:
                self.positions = np.empty(count + max(self.sizes), np.float64)
            positions = self.positions[:count]
            self.clipped |= draw_span_positions(
                self.rng, self.start.span_sizes[self.span : end], low, high, positions, begin,
                self.length,
            )  # fmt: skip
            self.span, self.drawn = end, begin + count
            self._read(begin, positions)
        finished = self.span == len(self.sizes)
        if finished and min(self.sweep.waiting, default=np.inf) < self.sweep.next_window:
            raise AssertionError("py1e windows: a sample came after its window was sorted")
        if not self.checked and (finished or self.drawn - self.reach >= self.skip_below):
            if self.below > self.first_read:  # every sample below skip_below is counted
                raise ResumeMarginMissed(f"{self.below} samples below row {self.first_read}")
            self.checked = True
        # Once every position is drawn, the rest is sorted a window per step, so the reader
        # gets the first window without waiting for the sort of the whole node.
        bound = ((self.sweep.next_window + 1) << WINDOW_BITS) if finished else 0.0
        self.sweep.write_complete(bound if finished else self.drawn - self.reach)
        held = self.sweep.written
        if self.sweep.tie_starts:  # equal positions: ordered as argsort of the whole node
            if self.ties is None:
                self.ties = TieOrder(self.plan, self.start)
            held = min(held, min(int(starts.min()) for starts in self.sweep.tie_starts))
        if finished and not self.sweep.waiting:
            if self.sweep.written != self.length:  # cannot happen
                raise AssertionError(f"py1e windows wrote {self.sweep.written} of {self.length}")
            if self.ties is not None:
                self.ties.apply(self.ids, self.sweep.tie_starts, self.sweep.tie_sizes)
                self.ties, held = None, self.length
            self.done = True
        self.final_rows = held if self.checked else 0

    def _shuffle(self, first: int, end: int) -> None:
        """Write spans ``first:end``'s IDs and shuffle them (their draws come in span order);
        `start_nodes` did those before ``start.shuffled`` (or passed over them)."""
        first = max(first, self.start.shuffled)
        if first < end:
            sizes = self.start.span_sizes[first:end]
            ids = self.ids[self.offsets[first] : self.offsets[first] + int(sizes.sum())]
            segment_positions(self.start.first_ids[first:end], sizes, out=ids)
            shuffle_segments(self.shuffle_rng, ids, sizes)

    def _read(self, begin: int, positions: NDArray[np.float64]) -> None:
        """Hand samples ``[begin, begin + len(positions))`` to the sweep, block by block; those
        below `skip_below` are only counted."""
        width = 1 << WINDOW_BITS
        for lo in range(0, len(positions), width):
            values = positions[lo : lo + width]
            ids = self.ids[begin + lo : begin + lo + len(values)]
            counted = self.sweep.read_above(values, ids, self.skip_below)
            self.sweep.written += counted
            self.below += counted
