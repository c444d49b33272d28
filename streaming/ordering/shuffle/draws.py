"""The span shuffles' and py1e's bulk draws: in C (`_py1e`) for numpy's PCG64, else numpy.

Every shuffle here draws from ``np.random.default_rng(...)``, a PCG64. The C module steps a
PCG64 itself, from the state numpy reports and back (`PCG64.state`), making numpy's own calls in
numpy's order, so the permutations, the positions to come and the generator's final state are
exactly numpy's; it only drops numpy's per-call and per-item overhead (a shuffle of int32 spans
of 1,000 takes about a third of numpy's time, and skipping draws is cheaper still: the 64-bit
draws of a uniform are jumped over). py1e's positions (`draw_span_positions`) are drawn in C
as well, rounded as numpy rounds them (``low + range * draw`` in two roundings, then the sum
with the index); a numpy built to fuse that multiply-add is detected once per process and left
to draw them itself. For another bit generator or Generator class, or where the extension is
not built, the same functions run on numpy.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

try:
    from streaming.ordering.shuffle import _py1e
except ImportError:  # not built (a source checkout without a compiler): numpy, slower
    _py1e = None

MASK64 = (1 << 64) - 1
SHUFFLE_CHUNK = 1 << 16  # samples copied to int64 at a time by numpy's `shuffle_segments`


def compiled() -> bool:
    """Whether the C draws are built (every install from this project's build is)."""
    return _py1e is not None


def _fast(rng: np.random.Generator) -> bool:
    """Whether C makes these draws: numpy's own Generator methods on a PCG64 (a subclass may
    draw otherwise)."""
    return (
        _py1e is not None
        and type(rng) is np.random.Generator
        and type(rng.bit_generator) is np.random.PCG64
    )


def _call(rng: np.random.Generator, function, *args):
    """Run a `_py1e` function on the generator's state and store the state it returns."""
    bit_generator = rng.bit_generator
    with bit_generator.lock:
        full = bit_generator.state
        state, inc = full["state"]["state"], full["state"]["inc"]
        packed = (state & MASK64, state >> 64, inc & MASK64, inc >> 64,
                  bool(full["has_uint32"]), int(full["uinteger"]))  # fmt: skip
        result = function(packed, *args)
        after = result[0] if isinstance(result[0], tuple) else result
        full["state"] = {"state": after[0] | after[1] << 64, "inc": after[2] | after[3] << 64}
        full["has_uint32"], full["uinteger"] = after[4], after[5]
        bit_generator.state = full
    return result


def _sizes(sizes: Sequence[int] | NDArray) -> NDArray[np.int64]:
    return np.ascontiguousarray(sizes, dtype=np.int64)


def shuffle_segments(
    rng: np.random.Generator, array: NDArray, sizes: Sequence[int] | NDArray[np.int64]
) -> None:
    """Shuffle, in place and in order, the consecutive segments of `array` of the given sizes:
    ``rng.shuffle(segment)`` for each in turn."""
    sizes = _sizes(sizes)
    if (
        _fast(rng)
        and array.dtype.kind in "iu"
        and array.dtype.itemsize in (4, 8)
        and array.flags.c_contiguous
        and array.flags.writeable
    ):
        _call(rng, _py1e.shuffle_segments, array, sizes)
        return
    _numpy_shuffle_segments(rng, array, sizes.tolist())


def skip_shuffles(rng: np.random.Generator, sizes: NDArray[np.int64]) -> None:
    """Make the draws of `shuffle_segments` over segments of these sizes, shuffling nothing."""
    sizes = _sizes(sizes)
    if _fast(rng):
        _call(rng, _py1e.skip_shuffles, sizes)
        return
    scratch = np.empty(int(sizes.max(initial=0)), np.int64)  # numpy's fastest swaps
    for size in sizes.tolist():
        if size > 1:
            rng.shuffle(scratch[:size])


def skip_positions(rng: np.random.Generator, sizes: NDArray[np.int64], low: int, high: int) -> bool:
    """Make the draws of py1e's `draw_positions` over spans of these sizes (for each span,
    ``integers(low, high)``, then one uniform per sample), drawing no positions.

    Returns whether some span was larger than its window (`draw_positions`'s `clipped`)."""
    sizes = _sizes(sizes)
    if _fast(rng) and 0 < high - low < 1 << 32:
        return bool(_call(rng, _py1e.skip_positions, sizes, low, high)[1])
    scratch = np.empty(int(sizes.max(initial=0)), np.float64)
    clipped = False
    for size in sizes.tolist():
        clipped |= int(rng.integers(low, high)) < size
        rng.random(out=scratch[:size])  # uniform(lower, upper, size) draws one double each
    return clipped


def draw_span_positions(
    rng: np.random.Generator,
    sizes: Sequence[int] | NDArray[np.int64],
    low: int,
    high: int,
    out: NDArray[np.float64],
    offset: int = 0,
    length: int | None = None,
) -> bool:
    """py1e's jittered positions of consecutive spans of a node of `length` samples (default:
    the spans' total), the first span starting at node index `offset`, written to
    ``out[:sum(sizes)]``.

    For each span in turn: draw a window ``rng.integers(low, high)``; the span's samples move by
    ``uniform(-c, c)`` with ``c = (window - size) / 2`` (0 if the span is larger than the
    window), clipped so no sample leaves the node; sample ``x`` gets ``x + shift``, as a float
    (one rounding: the peer's sum of ``arange`` and the shifts).

    Returns whether some span was larger than its window."""
    sizes = _sizes(sizes)
    total = int(sizes.sum())
    length = offset + total if length is None else length
    if _fast(rng) and 0 < high - low < 1 << 32 and _c_positions_agree():
        return bool(_call(rng, _py1e.draw_positions, sizes, offset, length, low, high, out)[1])
    return _numpy_span_positions(rng, sizes.tolist(), low, high, out, offset, length)


def _numpy_span_positions(
    rng: np.random.Generator,
    sizes: list[int],
    low: int,
    high: int,
    out: NDArray[np.float64],
    offset: int,
    length: int,
) -> bool:
    total = sum(sizes)
    out[:total] = np.arange(offset, offset + total, dtype=np.float64)
    clipped, begin = False, 0
    for size in sizes:
        cutoff = (int(rng.integers(low, high)) - size) / 2
        if cutoff < 0:
            cutoff, clipped = 0, True
        lower = max(-cutoff, -(offset + begin))
        upper = min(cutoff, length - offset - begin - size)
        out[begin : begin + size] += rng.uniform(lower, upper, size)
        begin += size
    return clipped


@functools.cache
def _c_positions_agree() -> bool:
    """Whether the C positions equal numpy's here (checked once, on 4,096 samples): numpy's
    ``uniform`` computes ``low + range * draw`` with two roundings where it is built without
    fused multiply-adds, as the C is and numpy's x86-64 wheels are; where numpy fuses them, it
    draws the positions itself."""
    sizes, ours, reference = [512] * 8, np.empty(4096), np.empty(4096)
    _call(np.random.default_rng(12345), _py1e.draw_positions, _sizes(sizes), 0, 4096, 4000,
          6000, ours)  # fmt: skip
    _numpy_span_positions(np.random.default_rng(12345), sizes, 4000, 6000, reference, 0, 4096)
    return bool(np.array_equal(ours.view(np.int64), reference.view(np.int64)))


def _numpy_shuffle_segments(rng: np.random.Generator, array: NDArray, sizes: list[int]) -> None:
    """numpy's shuffles. It swaps 8-byte items with a loop of its own, a third faster than other
    sizes; an array of smaller integers is shuffled through one int64 buffer (of
    `SHUFFLE_CHUNK` items, or the largest segment), a run of segments at a time."""
    if array.dtype.itemsize == 8 or array.dtype.kind not in "iu" or len(array) < 2:
        _shuffle_each(rng, array, sizes)
        return
    buffer = np.empty(min(len(array), max(SHUFFLE_CHUNK, max(sizes))), np.int64)
    first, begin = 0, 0
    while first < len(sizes):
        last, end = first, begin
        while last < len(sizes) and end - begin + sizes[last] <= len(buffer):
            end += sizes[last]
            last += 1
        copy = buffer[: end - begin]
        copy[:] = array[begin:end]
        _shuffle_each(rng, copy, sizes[first:last])
        array[begin:end] = copy
        first, begin = last, end


def _shuffle_each(rng: np.random.Generator, array: NDArray, sizes: list[int]) -> None:
    offset = 0
    for size in sizes:
        if size > 1:  # numpy draws nothing to shuffle fewer than two items
            rng.shuffle(array[offset : offset + size])
        offset += size
