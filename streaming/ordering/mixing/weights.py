"""Stream weighting: how many samples each stream contributes to an epoch.

A dataset mixes several streams. Each stream may carry one weight (or none):

* ``proportion`` (relative): the stream's share of the epoch. All streams must then be relative.
  The weights are normalised; stream ``i`` gets ``floor(epoch_size * p_i)`` samples and the
  shortfall goes, one sample each, to streams drawn without replacement with ``rng(seed)``.
  ``epoch_size`` defaults to the total number of samples.
* ``repeat`` (absolute): ``int(repeat * samples)`` samples.
* ``choose`` (absolute): exactly that many samples.
* none: every sample once; but if no stream has a weight and ``epoch_size`` is given, the
  streams are weighted relatively, in proportion to their sizes.

Mixing relative and absolute weights, or giving ``epoch_size`` with absolute weights, is an
error. This is mosaicml-streaming 0.13.0's ``Stream.apply_weights`` (and its checks in
``Stream.__init__``, ``Stream.validate_weights`` and ``StreamingDataset.__init__``), with the
same results and the same exception types, raised in the same order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from streaming.format.sizes import number_abbrev_to_int

__all__ = [
    "EmptyStreamError",
    "StreamWeight",
    "StreamWeightError",
    "StreamWeights",
    "parse_epoch_size",
    "weigh_streams",
]


class StreamWeightError(ValueError):
    """A stream's ``proportion``/``repeat``/``choose``, or the dataset's ``epoch_size``, is
    invalid or inconsistent with the other streams'."""


class EmptyStreamError(RuntimeError):
    """A stream has no samples (the peer raises RuntimeError when it loads such a stream)."""


@dataclass(frozen=True)
class StreamWeight:
    """The weight a user gives one stream: at most one of the three, or none."""

    proportion: float | None = None
    repeat: float | None = None
    choose: int | None = None


@dataclass(frozen=True, eq=False)
class StreamWeights:
    """Every stream's resolved weight, as the peer stores it back into its streams.

    Attributes:
        choose: Samples drawn from each stream per epoch (int64).
        proportion: Each stream's share of the epoch (float64): the normalised user
            proportions when weighting relatively, else ``choose / choose.sum()``.
        repeat: ``choose / samples`` per stream (float64).
        epoch_size: Samples per epoch over all streams.
    """

    choose: NDArray[np.int64]
    proportion: NDArray[np.float64]
    repeat: NDArray[np.float64]
    epoch_size: int


def parse_epoch_size(epoch_size: int | str | None) -> int | None:
    """``epoch_size`` as an int, or None for the natural size (``None``, ``0`` and ``""``).

    Accepts abbreviations with decimal suffixes (``"100k"``, ``"2b"``). Negative sizes raise
    `StreamWeightError` (a ValueError), as the peer's ValueError.
    """
    if not epoch_size:
        return None
    value = _truncated_count(epoch_size)
    if value < 0:
        raise StreamWeightError(
            f"epoch_size={epoch_size!r} is negative: give the number of samples per epoch over "
            "all streams, or None for the streams' natural size"
        )
    return value or None


_SUFFIXES = {"k": 10**3, "m": 10**6, "b": 10**9, "t": 10**12}


def _truncated_count(epoch_size: int | float | str) -> int:
    """The peer's ``number_abbrev_to_int``: a float or a fractional count with a suffix is
    truncated toward zero (``50.5`` and ``"0.0505k"`` are 50); other strings as
    `number_abbrev_to_int`."""
    if isinstance(epoch_size, float):
        return int(epoch_size)
    if isinstance(epoch_size, str):
        m = re.fullmatch(r"\s*(-?(?:\d+(?:\.\d*)?|\.\d+))\s*([kmbt])\s*", epoch_size, re.I)
        if m:
            return int(float(m.group(1)) * _SUFFIXES[m.group(2).lower()])
    return number_abbrev_to_int(epoch_size)


def _weight_of(stream: Any) -> tuple[Any, Any, Any]:
    return (
        getattr(stream, "proportion", None),
        getattr(stream, "repeat", None),
        getattr(stream, "choose", None),
    )


def _check_stream_weight(index: int, stream: Any) -> None:
    """The peer's ``Stream.__init__`` checks: at most one weight, none negative."""
    weights = dict(zip(("proportion", "repeat", "choose"), _weight_of(stream), strict=True))
    given = [name for name, value in weights.items() if value is not None]
    if len(given) > 1:
        raise StreamWeightError(
            f"Stream {index} sets {' and '.join(given)}: give at most one of proportion, repeat "
            "and choose; the others are derived"
        )
    for name in given:
        if weights[name] < 0:
            raise StreamWeightError(
                f"Stream {index} has {name}={weights[name]!r}: it must be non-negative"
            )


def _check_consistent(streams: Sequence[Any]) -> tuple[bool, bool]:
    """(relative, unspecified): the peer's ``Stream.validate_weights``."""
    relative = _weight_of(streams[0])[0] is not None
    unspecified = True
    for index, stream in enumerate(streams):
        proportion, repeat, choose = _weight_of(stream)
        if relative != (proportion is not None):
            raise StreamWeightError(
                f"Stream {index} is weighted {'absolutely' if relative else 'relatively'} but "
                f"stream 0 {'relatively' if relative else 'absolutely'}: relative weights "
                "(proportion) and absolute weights (repeat, choose or none) cannot be mixed; "
                "use one kind for every stream"
            )
        if proportion is not None or repeat is not None or choose is not None:
            unspecified = False
    return relative, unspecified


def _split_relatively(
    proportions: NDArray[np.float64], epoch_size: int, seed: int
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Normalise ``proportions`` and split ``epoch_size`` by them; +1 to random streams."""
    total = proportions.sum()
    if not total > 0:
        raise StreamWeightError(
            f"Every stream has proportion 0 (proportions {proportions.tolist()}): at least one "
            "stream must have a positive proportion"
        )
    proportions = proportions / total
    choose = (epoch_size * proportions).astype(np.int64)
    shortfall = epoch_size - choose.sum()
    lucky = np.random.default_rng(seed).choice(len(proportions), shortfall, False)
    choose[lucky] += 1
    return proportions, choose


def weigh_streams(
    samples_per_stream: ArrayLike,
    streams: Sequence[Any],
    epoch_size: int | str | None = None,
    seed: int = 9176,
) -> StreamWeights:
    """Resolve every stream's samples per epoch from its weight, as the peer does at init.

    Args:
        samples_per_stream: Underlying samples of each stream.
        streams: Per stream, an object with optional ``proportion``, ``repeat`` and ``choose``
            attributes (a `StreamWeight`, or a stream object; a missing attribute means None).
        epoch_size: Samples per epoch over all streams (an int or an abbreviation such as
            ``"100k"``), or None (or 0) for the natural size. Only with relative (or no) weights.
        seed: ``shuffle_seed``; it draws which streams get the rounding shortfall.

    Returns:
        The resolved `StreamWeights`.

    Raises:
        StreamWeightError: (a ValueError) more than one weight on a stream, a negative weight or
            ``epoch_size``, relative and absolute weights mixed, ``epoch_size`` with absolute
            weights, or every proportion zero.
        EmptyStreamError: (a RuntimeError) a stream has no samples.
    """
    if not streams:
        raise StreamWeightError("There are no streams to weigh: give at least one stream")
    samples = np.asarray(samples_per_stream, dtype=np.int64).reshape(-1)
    if len(samples) != len(streams):
        raise ValueError(
            f"Got {len(samples)} stream sample counts for {len(streams)} streams: give one each"
        )
    for index, stream in enumerate(streams):
        _check_stream_weight(index, stream)
    epoch_size = parse_epoch_size(epoch_size)
    relative, unspecified = _check_consistent(streams)
    for index, count in enumerate(samples.tolist()):
        if count <= 0:
            raise EmptyStreamError(f"Stream {index} contains no samples: check its index.json")

    if relative or (unspecified and epoch_size):
        if relative:
            weights = np.array([_weight_of(s)[0] for s in streams], np.float64)
        else:  # no weights but an epoch size: in proportion to the streams' sizes
            weights = samples.astype(np.float64)
        size = epoch_size or int(samples.sum())
        proportion, choose = _split_relatively(weights, size, seed)
        repeat = choose / samples
    else:
        if epoch_size:
            raise StreamWeightError(
                f"epoch_size={epoch_size} is only valid with relative weights (proportion) or "
                "none: with repeat/choose each stream's samples per epoch are already fixed"
            )
        choose = samples.copy()
        for index, stream in enumerate(streams):
            _, repeat_by, exact = _weight_of(stream)
            if repeat_by is not None:
                choose[index] = int(repeat_by * samples[index])
            elif exact is not None:
                choose[index] = exact
        repeat = choose / samples
        with np.errstate(invalid="ignore"):
            proportion = choose / choose.sum()
        size = int(choose.sum())
    return StreamWeights(choose=choose, proportion=proportion, repeat=repeat, epoch_size=size)
