"""Reorder sample IDs by py1e's jittered positions: ``ids[np.argsort(positions)]``, fast.

py1e gives sample ``i`` of a canonical node the position ``i + shift`` (`draw_positions`), with
every shift bounded by about half a shuffle block, and reads the samples in order of position.
The peer sorts with ``np.argsort``, an ``O(n log n)`` comparison sort over the whole node (most
of the epoch-order time at 10^8 samples). The positions are nearly sorted, so
`sort_by_position` does it in ``O(n)``, in cache-sized pieces:

1. **Windows.** Positions are cut into windows of ``W = 2**window_bits`` values,
   ``[k*W, (k+1)*W)``; with about one sample per unit of position, a window holds about ``W``.
2. **Sweep.** The IDs are read in blocks of ``W`` indices. A stable 8/16-bit radix sort on the
   window number splits each block into per-window pieces (positions and IDs, in index order),
   which wait until their window is complete: when every unread block's smallest position
   (a suffix minimum computed up front) is at or past the window's end.
3. **Sort a window.** Its positions become a 32-bit key ``floor((p - k*W) * 2**(32 -
   window_bits))``, sorted by two stable 16-bit radix passes (least significant first). Keys
   are monotone in the position, so only runs of equal keys (a few per window) can be out of
   order; they are re-sorted by the exact position. The window's IDs are written back in place
   (a window never writes past the blocks already read).

Steps 2 and 3 run in C where the extension is built (`_py1e.split_above`: a stable counting
sort of a block by window, as numpy's stable argsort of the window numbers; `_py1e.sort_window`:
the same keys, radix passes and re-sort, in one pass over the window's memory); numpy
otherwise.

Equal positions are the one case where the result is not unique. ``np.argsort`` is unstable,
so the peer orders equal positions however numpy's quicksort (x86-simd-sort or introsort,
depending on the CPU) happens to leave them. Two sums ``i + shift`` round to the same float
rarely: about half a pair is expected in a node of 10^8 samples (one epoch in a few has one),
one in two hundred at 10^7. When a window finds some, the positions are sorted once more with
``np.argsort`` (that epoch then costs about what the peer's does) and only the tied IDs are
reordered to match it.

Below `MIN_SIZE` samples, or when samples move back by more than `MAX_LAG` positions and a
quarter of the node (a shuffle block of the order of the node: the samples waiting for their
window would take as much memory as the node), this simply calls ``np.argsort``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from streaming.ordering.shuffle.draws import _py1e  # None where not built: numpy's sorts
from streaming.ordering.shuffle.spans import segment_positions, starts_of

WINDOW_BITS = 17
MIN_SIZE = 1 << 21
MAX_LAG = 1 << 22  # shifts up to this, or a quarter of the node, use the windows


def sort_by_position(
    ids: NDArray[np.int64],
    positions: NDArray[np.float64],
    window_bits: int | None = None,
    min_size: int | None = None,
) -> None:
    """In place, ``ids[:] = ids[np.argsort(positions)]``, bit for bit (see the module docstring).

    Args:
        ids: 1-D array to reorder (modified in place).
        positions: 1-D float array of the same length (not modified).
        window_bits: windows and index blocks hold ``2**window_bits`` values (1 to 32; default
            `WINDOW_BITS`).
        min_size: below this length, call ``np.argsort`` directly (default `MIN_SIZE`).
    """
    window_bits = WINDOW_BITS if window_bits is None else window_bits
    n = len(positions)
    width = 1 << window_bits
    starts = np.arange(0, n, width)
    if n < max(MIN_SIZE if min_size is None else min_size, 2):
        ids[:] = ids[np.argsort(positions)]
        return
    lows = np.minimum.reduceat(positions, starts)
    highs = np.maximum.reduceat(positions, starts)
    lag = float(np.max(starts - lows))  # how far back a block reaches (NaN if any NaN)
    # Samples read but not yet written (about `lag` of them) are copied: bound that memory.
    if not (lows.min() >= 0 and highs.max() < 2.0**52 and lag < max(n / 4, MAX_LAG)):
        ids[:] = ids[np.argsort(positions)]
        return
    # unread_low[j]: the smallest position in blocks j, j + 1, ... (+inf past the end).
    unread_low = np.append(np.minimum.accumulate(lows[::-1])[::-1], np.inf)
    sweep = _Sweep(ids, positions, window_bits)
    first_windows = (lows * sweep.inverse_width).astype(np.int64).tolist()
    last_windows = (highs * sweep.inverse_width).astype(np.int64).tolist()
    for block, begin in enumerate(starts.tolist()):
        sweep.read(begin, min(begin + width, n), first_windows[block], last_windows[block])
        sweep.write_complete(float(unread_low[block + 1]))
    sweep.write_complete(np.inf)
    if sweep.written != n:  # cannot happen: every position falls in exactly one window
        raise AssertionError(f"sort_by_position wrote {sweep.written} of {n} ids")
    if sweep.tie_starts:
        starts, sizes = np.concatenate(sweep.tie_starts), np.concatenate(sweep.tie_sizes)
        order_ties_as_argsort(ids, positions, starts, sizes)


def _splits_in_c(values: NDArray, ids: NDArray) -> bool:
    """Whether the C split (`_py1e.split_above`) takes this block."""
    return (
        _py1e is not None
        and values.dtype == np.float64
        and ids.dtype.kind in "iu"
        and ids.dtype.itemsize in (4, 8)
    )


class _Sweep:
    """The state of steps 2 and 3: pieces waiting for their window, and what is written."""

    def __init__(self, ids: NDArray, positions: NDArray[np.float64], window_bits: int) -> None:
        self.ids, self.positions = ids, positions
        self.bits = window_bits
        self.inverse_width = 1.0 / (1 << window_bits)
        self.waiting: dict[int, list[tuple[NDArray[np.float64], NDArray]]] = {}
        self.next_window = 0
        self.written = 0
        self.tie_starts: list[NDArray] = []  # where each group of equal positions is written
        self.tie_sizes: list[NDArray] = []

    def read(self, begin: int, end: int, first: int, last: int) -> None:
        """Split block ``[begin, end)``, whose samples fall in windows `first` to `last`, by
        window (in index order), and set the pieces aside."""
        self.read_values(self.positions[begin:end], self.ids[begin:end], first, last)

    def read_values(self, values: NDArray[np.float64], ids: NDArray, first: int, last: int) -> None:
        """`read` for a block given by its positions and IDs (for callers that draw positions
        block by block instead of holding them all): they are copied, never kept."""
        if first == last:
            self.waiting.setdefault(first, []).append((values.copy(), ids.copy()))
            return
        if _splits_in_c(values, ids):  # the same windows: C finds `first` from the least value
            self._split_in_c(values, ids, -np.inf)
            return
        scaled = values * self.inverse_width  # exact: W is a power of two
        scaled -= first
        dtype = np.uint8 if last - first < 1 << 8 else np.uint16
        if last - first >= 1 << 16:
            dtype = np.int64
        windows = scaled.astype(dtype)  # floor: the values are non-negative
        order = np.argsort(windows, kind="stable")
        bounds = np.cumsum(np.bincount(windows, minlength=last - first + 1)).tolist()
        self._set_aside(first, values[order], ids[order], bounds)

    def read_above(self, values: NDArray[np.float64], ids: NDArray, below: float) -> int:
        """`read_values` for the samples of a block whose positions are at or above `below`;
        returns how many are below it (dropped: a resume counts them without sorting them)."""
        if _splits_in_c(values, ids):
            return self._split_in_c(values, ids, below)
        dropped = 0
        if below > 0:
            keep = values >= below
            dropped = len(values) - int(np.count_nonzero(keep))
            values, ids = values[keep], ids[keep]
        if len(values):
            first = int(values.min() * self.inverse_width)
            last = int(values.max() * self.inverse_width)
            self.read_values(values, ids, first, last)
        return dropped

    def _split_in_c(self, values: NDArray[np.float64], ids: NDArray, below: float) -> int:
        """`read_above` by `_py1e.split_above`: no temporary but the split copy, sized for the
        kept samples (and one slot for the dropped): fresh memory costs more than a count."""
        values, ids = np.ascontiguousarray(values), np.ascontiguousarray(ids)
        size = len(values)
        if below > -np.inf:
            kept = int(np.count_nonzero(values >= below))
            size = kept + (kept < len(values))
        split_values, split_ids = np.empty(size, values.dtype), np.empty(size, ids.dtype)
        first, ends = _py1e.split_above(
            values, ids, split_values, split_ids, float(below), self.inverse_width
        )
        if ends:
            self._set_aside(first, split_values, split_ids, ends)
        return len(values) - (ends[-1] if ends else 0)

    def _set_aside(self, first: int, values: NDArray, ids: NDArray, bounds: list[int]) -> None:
        """Set aside the pieces of a block grouped by window (`bounds`: each window's end)."""
        begin_piece = 0
        for offset, end_piece in enumerate(bounds):
            if end_piece > begin_piece:
                piece = (values[begin_piece:end_piece], ids[begin_piece:end_piece])
                self.waiting.setdefault(first + offset, []).append(piece)
            begin_piece = end_piece

    def write_complete(self, unread_low: float) -> None:
        """Sort and write every window whose end is at or below `unread_low`."""
        width = 1 << self.bits
        while self.waiting and (self.next_window + 1) * width <= unread_low:
            pieces = self.waiting.pop(self.next_window, None)
            if pieces:
                self._write(self.next_window * width, pieces)
            self.next_window += 1

    def _write(self, window_start: int, pieces: list[tuple[NDArray[np.float64], NDArray]]) -> None:
        values = np.concatenate([values for values, _ in pieces])
        ids = np.concatenate([ids for _, ids in pieces])
        out = self.ids[self.written : self.written + len(ids)]
        if _py1e is not None and ids.dtype == out.dtype and ids.dtype.kind in "iu":
            ties = _py1e.sort_window(values, ids, out, float(window_start), self.bits)
            if ties:
                starts, sizes = np.array(ties, dtype=np.int64).T
                self.tie_starts.append(self.written + starts)
                self.tie_sizes.append(sizes)
            self.written += len(ids)
            return
        key = values - window_start  # exact (Sterbenz), in [0, W)
        key *= float(1 << (32 - self.bits))
        key = key.astype(np.uint32)
        order = np.argsort(key.astype(np.uint16), kind="stable")
        order = order[np.argsort((key >> 16).astype(np.uint16)[order], kind="stable")]
        sorted_keys = key[order]
        same = np.flatnonzero(sorted_keys[1:] == sorted_keys[:-1])
        if len(same):
            self._sort_equal_keys(order, values, same)
        self.ids[self.written : self.written + len(ids)] = ids[order]
        self.written += len(ids)

    def _sort_equal_keys(self, order: NDArray, values: NDArray[np.float64], same: NDArray) -> None:
        """Re-sort by exact value each run of equal keys (``same``: i where key i == key i+1)."""
        members = np.union1d(same, same + 1)  # positions in `order` that share a key
        run = np.cumsum(~np.isin(members - 1, same))  # a run starts where the key changes
        exact = values[order[members]]
        resorted = np.lexsort((exact, run))  # stable: equal values keep their index order
        order[members] = order[members[resorted]]
        exact, run = exact[resorted], run[resorted]
        tied = np.flatnonzero((exact[1:] == exact[:-1]) & (run[1:] == run[:-1]))
        if len(tied):  # groups of equal positions: tied pairs (i, i + 1) one after the other
            first = np.flatnonzero(np.diff(tied, prepend=-2) != 1)
            self.tie_starts.append(self.written + members[tied[first]])
            self.tie_sizes.append(np.diff(first, append=len(tied)) + 1)


def order_ties_as_argsort(
    ids: NDArray,
    positions: NDArray[np.float64],
    starts: NDArray,
    sizes: NDArray,
    reference: NDArray[np.intp] | None = None,
) -> None:
    """Reorder each group of IDs with equal positions as ``np.argsort(positions)`` orders them.

    Group ``g`` was written at ``[starts[g], starts[g] + sizes[g])`` (where any sort puts it),
    in index order; ``np.argsort`` holds the same indices there, in its own order. `reference`
    is ``np.argsort(positions)``, if already computed.
    """
    if reference is None:
        reference = np.argsort(positions)
    where = segment_positions(starts, sizes)
    group = np.repeat(np.arange(len(sizes)), sizes)
    indices = reference[where]
    first = positions[indices[np.repeat(starts_of(sizes), sizes)]]
    if not np.array_equal(positions[indices], first):
        raise AssertionError("sort_by_position: tied positions not where np.argsort puts them")
    written = np.lexsort((indices, group))  # the order in which they were written
    rank = np.empty_like(written)
    rank[written] = np.arange(len(written))
    ids[where] = ids[where][rank]


PositionSweep = _Sweep  # the sweep, for callers that feed it positions as they are drawn
