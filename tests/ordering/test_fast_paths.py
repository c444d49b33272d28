"""The shortcuts that keep a 10^8-sample epoch order small and fast give the plain results: the
identity resampling left unbuilt, maps applied in place, the canonical order written slice by
slice, and sample IDs of spans written with one cumulative sum."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streaming.ordering.batching.batches import map_in_place, to_samples
from streaming.ordering.mixing import resample_streams
from streaming.ordering.mixing.resample import resample_streams_lazily
from streaming.ordering.partition import canonical_order, get_partitions, orig
from streaming.ordering.partition.orig import _CanonicalOrder
from streaming.ordering.shuffle import get_shuffle, get_shuffle_compact
from streaming.ordering.shuffle.spans import segment_positions

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

streams = st.lists(st.lists(st.integers(0, 40), max_size=6), min_size=1, max_size=3)


@PROPERTY
@given(sizes=streams, data=st.data())
def test_lazy_resampling_is_none_only_for_the_identity(sizes: list, data: st.DataObject) -> None:
    totals = [sum(stream) for stream in sizes]
    choose = [data.draw(st.sampled_from([total, total * 2, total // 2 + 1])) for total in totals]
    stream_id = data.draw(st.one_of(st.none(), st.integers(0, len(sizes) - 1)))
    kwargs = dict(seed=data.draw(st.integers(0, 99)), epoch=1, stream_id=stream_id, shuffle=True)
    try:
        units, small_per_big = resample_streams(sizes, choose, **kwargs)
    except ValueError:
        return  # nothing to draw: both refuse
    lazy_units, lazy = resample_streams_lazily(sizes, choose, **kwargs)
    np.testing.assert_array_equal(lazy_units, units)
    assert int(units.sum()) == len(small_per_big)
    if lazy is None:
        np.testing.assert_array_equal(small_per_big, np.arange(len(small_per_big)))
    else:
        np.testing.assert_array_equal(lazy, small_per_big)
    if stream_id is None and choose == totals:
        assert lazy is None


def test_one_stream_seen_once_is_the_identity() -> None:
    units, small_per_big = resample_streams_lazily([[3, 0, 4]], [7], seed=1, epoch=0)
    assert small_per_big is None and units.tolist() == [3, 4]


@PROPERTY
@given(
    shape=st.tuples(*[st.integers(1, 4)] * 4),
    axes=st.permutations(range(4)),
    table_size=st.integers(1, 50),
    seed=st.integers(0, 99),
)
def test_maps_in_place_as_np_where(shape: tuple, axes: list, table_size: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ids = rng.integers(-1, table_size, shape).transpose(axes)  # as get_partitions returns them
    table = rng.integers(0, 1000, table_size)
    strided = ids.copy()[::2]  # a layout that `ravel` copies: mapped out of place
    expected_strided = np.where(strided != -1, table[strided], -1)
    expected = np.where(ids != -1, table[ids], -1)
    assert map_in_place(ids, table) is ids
    np.testing.assert_array_equal(ids, expected)
    np.testing.assert_array_equal(map_in_place(strided, table), expected_strided)


def test_to_samples_composes_both_maps() -> None:
    big_ids = get_partitions("orig", 10, 2, 2, 1, 1, 4)
    order = np.array([9, 1, 8, 2, 7, 3, 6, 4, 5, 0])
    small = np.arange(10) * 10
    expected = np.where(big_ids != -1, small[np.where(big_ids != -1, order[big_ids], -1)], -1)
    np.testing.assert_array_equal(to_samples(big_ids.copy(), small, order.copy()), expected)
    np.testing.assert_array_equal(to_samples(big_ids.copy(), None, None), big_ids)


@PROPERTY
@given(
    num_samples=st.integers(1, 300),
    canonical=st.sampled_from([1, 2, 3, 4, 6, 8, 70]),
    ratio=st.sampled_from([1, 2, 3]),
    data=st.data(),
)
def test_the_canonical_order_written_in_slices(
    num_samples: int, canonical: int, ratio: int, data: st.DataObject
) -> None:
    physical = canonical * ratio
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fewer samples than canonical nodes: tiled
        try:
            full = canonical_order(num_samples, canonical, physical)
        except ValueError:
            return
        order = _CanonicalOrder(num_samples, canonical, physical)
    begin = data.draw(st.integers(0, len(full)))
    end = data.draw(st.integers(begin, len(full)))
    out = np.empty(end - begin, np.int64)
    assert order.size == len(full)
    chunk, orig.CHUNK = orig.CHUNK, data.draw(st.sampled_from([1, 5, 64, orig.CHUNK]))
    try:
        order.write(out, begin)
    finally:
        orig.CHUNK = chunk
    np.testing.assert_array_equal(out, full[begin:end])


@PROPERTY
@given(pieces=st.lists(st.tuples(st.integers(0, 10**12), st.integers(0, 20)), max_size=30))
def test_segment_positions(pieces: list[tuple[int, int]]) -> None:
    starts = np.array([start for start, _ in pieces], dtype=np.int64)
    sizes = np.array([size for _, size in pieces], dtype=np.int64)
    expected = [start + i for start, size in pieces for i in range(size)]
    assert segment_positions(starts, sizes).tolist() == expected


@PROPERTY
@given(
    algo=st.sampled_from(["py1e", "py1s"]),
    sizes=st.lists(st.integers(0, 500), min_size=1, max_size=30),
    ncn=st.integers(1, 8),
    seed=st.integers(0, 2**31),
    epoch=st.integers(0, 5),
    block=st.integers(1, 3000),
)
def test_the_compact_shuffle_is_the_same_order(
    algo: str, sizes: list[int], ncn: int, seed: int, epoch: int, block: int
) -> None:
    args = (algo, np.array(sizes), ncn, seed, epoch, block)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # py1e: a shard larger than the block
        try:
            expected = get_shuffle(*args)
        except ValueError:
            return
        compact = get_shuffle_compact(*args)
    assert compact.dtype == (np.int32 if algo == "py1e" else np.int64)
    np.testing.assert_array_equal(compact, expected)
