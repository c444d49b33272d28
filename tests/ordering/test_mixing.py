"""Stream weighting and resampling: golden values (from mosaicml-streaming 0.13.0), the errors,
and properties for any shard sizes, weights, seeds and epochs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from streaming.ordering.mixing import (
    EmptyStreamError,
    StreamWeight,
    StreamWeightError,
    parse_epoch_size,
    resample_streams,
    sample_shards,
    weigh_streams,
)

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- weighting --------------------------------------------------------------------------------


def test_absolute_weights() -> None:
    streams = [StreamWeight(repeat=1.5), StreamWeight(choose=3), StreamWeight()]
    weights = weigh_streams([12, 8, 5], streams)
    assert weights.choose.tolist() == [18, 3, 5]
    assert weights.epoch_size == 26
    np.testing.assert_array_equal(weights.repeat, [1.5, 3 / 8, 1.0])
    np.testing.assert_array_equal(weights.proportion, [18 / 26, 3 / 26, 5 / 26])


def test_repeat_truncates() -> None:
    assert weigh_streams([7], [StreamWeight(repeat=0.5)]).choose.tolist() == [3]


def test_relative_weights_golden() -> None:
    weights = weigh_streams([12, 8], [StreamWeight(proportion=0.6), StreamWeight(proportion=0.4)])
    assert weights.choose.tolist() == [12, 8]
    assert weights.epoch_size == 20
    # Normalised; the shortfall of 10 // 3 each goes to a stream drawn with rng(seed): the peer's.
    equal = [StreamWeight(proportion=1)] * 3
    weights = weigh_streams([4, 4, 4], equal, epoch_size=10, seed=9176)
    assert weights.choose.tolist() == [3, 3, 4]
    np.testing.assert_array_equal(weights.proportion, [1 / 3] * 3)
    np.testing.assert_array_equal(weights.repeat, [0.75, 0.75, 1.0])


def test_unweighted_streams_with_an_epoch_size_are_weighted_by_size() -> None:
    weights = weigh_streams([30, 10], [StreamWeight(), StreamWeight()], epoch_size="1k")
    assert weights.choose.tolist() == [750, 250]
    assert weights.epoch_size == 1000
    np.testing.assert_array_equal(weights.proportion, [0.75, 0.25])


def test_unweighted_streams_without_an_epoch_size_see_each_sample_once() -> None:
    for epoch_size in (None, 0, ""):
        weights = weigh_streams([30, 10], [StreamWeight(), StreamWeight()], epoch_size)
        assert weights.choose.tolist() == [30, 10]


def test_objects_with_missing_attributes_are_unweighted() -> None:
    class Stream:
        pass

    assert weigh_streams([3], [Stream()]).choose.tolist() == [3]


def test_parse_epoch_size() -> None:
    assert parse_epoch_size("100k") == 100_000
    assert parse_epoch_size("2B") == 2_000_000_000
    assert parse_epoch_size(77) == 77
    assert parse_epoch_size(None) is None
    assert parse_epoch_size(0) is None
    with pytest.raises(StreamWeightError, match="epoch_size=-5"):
        parse_epoch_size(-5)
    with pytest.raises(ValueError):
        parse_epoch_size("12q")


@pytest.mark.parametrize(
    ("streams", "epoch_size", "match"),
    [
        ([StreamWeight(proportion=0.5, repeat=2.0)], None, "Stream 0 sets proportion and repeat"),
        ([StreamWeight(), StreamWeight(choose=-3)], None, "Stream 1 has choose=-3"),
        ([StreamWeight(repeat=-1.0)], None, "repeat=-1.0"),
        ([StreamWeight(proportion=-0.5)], None, "proportion=-0.5"),
        ([StreamWeight(proportion=1), StreamWeight(choose=5)], None, "Stream 1 is weighted"),
        ([StreamWeight(repeat=1), StreamWeight(proportion=1)], None, "Stream 1 is weighted"),
        ([StreamWeight(repeat=1.0)], 10, "epoch_size=10 is only valid"),
        ([StreamWeight(choose=4)], -5, "epoch_size=-5"),
        ([StreamWeight(proportion=0), StreamWeight(proportion=0)], None, "proportion 0"),
        ([], None, "no streams"),
    ],
)
def test_invalid_weights(streams: list, epoch_size: object, match: str) -> None:
    with pytest.raises(StreamWeightError, match=match) as info:
        weigh_streams([10] * len(streams), streams, epoch_size)
    assert isinstance(info.value, ValueError)


def test_empty_stream() -> None:
    with pytest.raises(EmptyStreamError, match="Stream 1 contains no samples") as info:
        weigh_streams([3, 0], [StreamWeight(), StreamWeight()])
    assert isinstance(info.value, RuntimeError)


def test_mismatched_counts() -> None:
    with pytest.raises(ValueError, match="2 stream sample counts for 1 streams"):
        weigh_streams([3, 4], [StreamWeight()])


@PROPERTY
@given(
    samples=st.lists(st.integers(1, 10_000), min_size=1, max_size=6),
    epoch_size=st.one_of(st.none(), st.integers(1, 100_000)),
    seed=st.integers(0, 2**32),
    data=st.data(),
)
def test_relative_weights_add_up(samples: list, epoch_size: int | None, seed: int, data) -> None:
    n = len(samples)
    proportions = data.draw(st.lists(st.floats(0.01, 10), min_size=n, max_size=n))
    streams = [StreamWeight(proportion=p) for p in proportions]
    weights = weigh_streams(samples, streams, epoch_size, seed)
    size = epoch_size or sum(samples)
    assert weights.epoch_size == size == weights.choose.sum()
    floors = np.floor(size * weights.proportion)
    assert np.all((weights.choose - floors >= 0) & (weights.choose - floors <= 1))
    again = weigh_streams(samples, streams, epoch_size, seed)
    np.testing.assert_array_equal(weights.choose, again.choose)


# --- per-shard sampling -------------------------------------------------------------------


def test_sample_shards_whole_repeats() -> None:
    sizes = np.array([5, 3, 4, 6])
    assert sample_shards(sizes, 36, 1, 0, 0, True).tolist() == [10, 6, 8, 12]
    assert sample_shards(sizes, 0, 1, 0, 0, True).tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("choose", (-1, 1, 0, 0)),
        ("sampling_granularity", (3, 0, 0, 0)),
        ("shuffle_seed", (3, 1, -1, 0)),
        ("epoch", (3, 1, 0, -1)),
    ],
)
def test_sample_shards_errors(name: str, args: tuple) -> None:
    with pytest.raises(ValueError, match=name):
        sample_shards([3, 4], *args, use_epoch=True)


def test_sample_shards_empty_shard_quirk() -> None:
    """As the peer: the empty shard gives its neighbour's last pick ``granularity`` samples."""
    sizes = np.array([3, 0, 4])
    # Picks of 2: shard 0 -> [2, 1], shard 2 -> [2, 2]; the empty shard resizes pick 1 to 2.
    drawn = [sample_shards(sizes, 5, 2, seed, 0, False) for seed in range(40)]
    assert max(d[0] for d in drawn) == 4  # more than shard 0 has, once its picks are both taken
    assert all(d.sum() == 5 for d in drawn)


@PROPERTY
@given(
    sizes=st.lists(st.integers(1, 50), min_size=1, max_size=12),
    factor=st.floats(0, 4),
    granularity=st.integers(1, 60),
    seed=st.integers(0, 2**20),
    epoch=st.integers(0, 10),
)
def test_sample_shards_properties(
    sizes: list, factor: float, granularity: int, seed: int, epoch: int
) -> None:
    sizes = np.array(sizes)
    choose = int(factor * sizes.sum())
    drawn = sample_shards(sizes, choose, granularity, seed, epoch, True)
    assert drawn.sum() == choose
    full = choose // sizes.sum()
    assert np.all(drawn >= full * sizes) and np.all(drawn <= (full + 1) * sizes)
    if granularity >= sizes.max():  # one pick per shard: all of it or none, but the last
        extra = drawn - full * sizes
        assert np.count_nonzero((extra != 0) & (extra != sizes)) <= 1


# --- resampling ---------------------------------------------------------------------------


def test_resample_streams_golden() -> None:
    """The peer's output for 1.5x of stream 0 and 3 of stream 1's 8 samples, granularity 2."""
    units, ids = resample_streams(
        [[5, 3, 4], [6, 2]], [18, 3], seed=9176, epoch=0, sampling_granularity=2
    )
    assert units.tolist() == [5, 3, 3, 4, 3, 3]
    assert ids.tolist() == [0, 1, 2, 3, 4, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 8, 9, 11, 14, 15, 16]
    units, ids = resample_streams([[4], [4], [4]], [3, 3, 4], seed=9176, epoch=0)
    assert units.tolist() == [3, 3, 4]
    assert ids.tolist() == [1, 2, 3, 4, 5, 7, 8, 9, 10, 11]


def test_resample_one_stream_keeps_global_sample_ids() -> None:
    units, ids = resample_streams([[5, 3], [6, 2]], [8, 16], seed=0, epoch=0, stream_id=1)
    assert units.tolist() == [6, 6, 2, 2]
    assert ids.tolist() == [8, 9, 10, 11, 12, 13] * 2 + [14, 15] * 2


def test_resample_errors() -> None:
    with pytest.raises(ValueError, match="sampling_method"):
        resample_streams([[3]], [3], seed=0, epoch=0, sampling_method="even")
    with pytest.raises(ValueError, match="Nothing to draw from any stream"):
        resample_streams([[3], [4]], [0, 0], seed=0, epoch=0)
    with pytest.raises(ValueError, match="Nothing to draw from stream 1"):
        resample_streams([[3], [4]], [3, 0], seed=0, epoch=0, stream_id=1)
    with pytest.raises(ValueError, match="one per stream"):
        resample_streams([[3], [4]], [3], seed=0, epoch=0)


def test_fixed_sampling_draws_the_same_samples_every_epoch() -> None:
    kwargs = dict(seed=5, sampling_method="fixed", shuffle=True)
    first = resample_streams([[50, 30], [20]], [41, 33], epoch=0, **kwargs)
    for epoch in (1, 2, 7):
        again = resample_streams([[50, 30], [20]], [41, 33], epoch=epoch, **kwargs)
        np.testing.assert_array_equal(first[1], again[1])
    balanced = [
        resample_streams([[50, 30], [20]], [41, 33], epoch=e, seed=5, shuffle=True)[1]
        for e in range(3)
    ]
    assert not np.array_equal(balanced[0], balanced[1])


stream_layouts = st.lists(
    st.lists(st.integers(0, 40), min_size=1, max_size=6).filter(sum), min_size=1, max_size=4
)


@PROPERTY
@given(
    layout=stream_layouts,
    factors=st.lists(st.floats(0, 3), min_size=4, max_size=4),
    granularity=st.integers(1, 5),
    seed=st.integers(0, 2**20),
    epoch=st.integers(0, 5),
    method=st.sampled_from(["balanced", "fixed"]),
    shuffle=st.booleans(),
)
def test_resample_properties(
    layout: list, factors: list, granularity: int, seed: int, epoch: int, method: str, shuffle
) -> None:
    choose = [int(f * sum(sizes)) for f, sizes in zip(factors, layout, strict=False)]
    assume(sum(choose) > 0)
    assume(all(0 not in sizes for sizes in layout) or granularity == 1)  # the peer's quirk
    kwargs = dict(
        seed=seed,
        epoch=epoch,
        sampling_method=method,
        sampling_granularity=granularity,
        shuffle=shuffle,
    )
    units, ids = resample_streams(layout, choose, **kwargs)
    assert len(ids) == units.sum() == sum(choose)
    assert units.min() > 0
    bounds = np.cumsum([0] + [sum(sizes) for sizes in layout])
    assert ids.min() >= 0 and ids.max() < bounds[-1]
    per_stream = np.histogram(ids, bins=bounds)[0]
    assert per_stream.tolist() == choose  # each stream gives exactly its choose
    # A shard is repeated whole, then a subset without repeats; a stream never skips a sample
    # before every one of its samples has been drawn as often.
    counts = np.bincount(ids, minlength=bounds[-1])
    for stream, sizes in enumerate(layout):
        stream_counts = counts[bounds[stream] : bounds[stream + 1]]
        full = choose[stream] // sum(sizes)
        assert stream_counts.min() >= full and stream_counts.max() <= full + 1
    again = resample_streams(layout, choose, **kwargs)
    np.testing.assert_array_equal(ids, again[1])
    np.testing.assert_array_equal(units, again[0])
