"""Batching methods: golden arrays (from mosaicml-streaming 0.13.0), the errors and warnings, and
properties for any streams, weights and topologies.

A work array ``work`` has shape (nodes, ranks, workers, batches, batch). Its global batches, in
the order the DataLoaders deliver them, are ``work.transpose(3, 2, 0, 1, 4).reshape(-1, G)``
(``G`` = nodes x ranks x batch size).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from streaming.ordering.batching import (
    BATCHING_METHODS,
    BatchingWarning,
    MissingBatchSizeError,
    OrderingSettings,
    Topology,
    default_num_canonical_nodes,
    default_shuffle_block_size,
    generate_work,
)
from streaming.ordering.mixing import StreamWeight, resample_streams, weigh_streams
from streaming.ordering.partition import get_partitions
from streaming.ordering.shuffle import SHUFFLE_ALGOS

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

LAYOUT = [[5, 3, 4], [6, 2]]  # stream 0: samples 0-11, stream 1: samples 12-19


def make_settings(
    layout: list, weights: list, epoch_size: int | None = None, **kwargs: object
) -> OrderingSettings:
    resolved = weigh_streams(
        [sum(s) for s in layout], weights, epoch_size, kwargs.get("shuffle_seed", 9176)
    )
    kwargs.setdefault("batch_size", 2)
    kwargs.setdefault("num_canonical_nodes", 1)
    return OrderingSettings.from_weights(layout, resolved, **kwargs)


def global_batches(work: np.ndarray) -> np.ndarray:
    nodes, ranks, _, _, batch = work.shape
    return work.transpose(3, 2, 0, 1, 4).reshape(-1, nodes * ranks * batch)


def stream_of(ids: np.ndarray, layout: list) -> np.ndarray:
    bounds = np.cumsum([sum(s) for s in layout])
    return np.searchsorted(bounds, ids, side="right")


GOLDEN = {
    "random": [
        [
            [[[0, 2], [4, 6], [8, 10], [12, 14], [16, 18]]],
            [[[1, 3], [5, 7], [9, 11], [13, 15], [17, 19]]],
        ]
    ],  # fmt: skip  # noqa: E501
    "stratified": [
        [[[[0, 1], [2, 3], [4, 5], [6, 7]]], [[[12, 13], [14, 15], [16, 17], [18, 19]]]]
    ],  # fmt: skip  # noqa: E501
    "per_stream": [
        [
            [[[0, 2], [4, 6], [8, 10], [12, 14], [16, 18]]],
            [[[1, 3], [5, 7], [9, 11], [13, 15], [17, 19]]],
        ]
    ],  # fmt: skip  # noqa: E501
    "device_per_stream": [
        [
            [[[12, 13], [2, 3], [4, 5], [18, 19], [8, 9], [-1, -1]]],
            [[[0, 1], [14, 15], [16, 17], [6, 7], [10, 11], [-1, -1]]],
        ]
    ],  # fmt: skip  # noqa: E501
}


@pytest.mark.parametrize("method", sorted(GOLDEN))
def test_golden(method: str) -> None:
    """Proportions 0.6/0.4 of 20 samples on 1 node x 2 ranks, batch 2, no shuffle: the peer's."""
    weights = [StreamWeight(proportion=0.6), StreamWeight(proportion=0.4)]
    ordering = make_settings(LAYOUT, weights, epoch_size=20)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        work = generate_work(method, ordering, Topology(1, 2, 1), 0, 0)
    assert work.dtype == np.int64
    assert work.tolist() == GOLDEN[method]
    # device_per_stream always pads each stream with a -1 batch, and says so (as the peer).
    assert len(caught) == (2 if method == "device_per_stream" else 0)


def test_golden_shuffled_upsampled() -> None:
    ordering = make_settings(
        LAYOUT,
        [StreamWeight(repeat=1.5), StreamWeight(choose=3)],
        shuffle=True,
        shuffle_algo="py1s",
        sampling_granularity=2,
    )
    work = generate_work("random", ordering, Topology(1, 2, 1), 0, 0)
    assert work.tolist() == [
        [
            [[[7, 5], [15, 8], [9, 9], [8, 2], [2, 4], [3, -1]]],
            [[[6, 14], [16, 11], [10, 11], [4, 3], [1, 0], [0, -1]]],
        ]
    ]


# --- errors and warnings -------------------------------------------------------------------


def test_unknown_method() -> None:
    ordering = make_settings(LAYOUT, [StreamWeight(), StreamWeight()])
    with pytest.raises(ValueError, match="Unknown batching_method 'sorted'"):
        generate_work("sorted", ordering, Topology(1, 1, 1), 0)


@pytest.mark.parametrize("method", sorted(BATCHING_METHODS))
def test_missing_settings(method: str) -> None:
    ordering = make_settings(LAYOUT, [StreamWeight(), StreamWeight()], num_canonical_nodes=None)
    with pytest.raises(RuntimeError, match="num_canonical_nodes"):
        generate_work(method, ordering, Topology(1, 1, 1), 0)
    ordering = make_settings(LAYOUT, [StreamWeight(), StreamWeight()], batch_size=None)
    with pytest.raises(MissingBatchSizeError, match="batch_size") as info:
        generate_work(method, ordering, Topology(1, 1, 1), 0)
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)


def test_negative_resume_point() -> None:
    ordering = make_settings(LAYOUT, [StreamWeight(), StreamWeight()])
    with pytest.raises(ValueError, match="sample_in_epoch"):
        generate_work("random", ordering, Topology(1, 1, 1), 0, -2)


def test_device_per_stream_needs_whole_canonical_nodes_per_node() -> None:
    ordering = make_settings(LAYOUT, [StreamWeight(), StreamWeight()], num_canonical_nodes=3)
    with pytest.raises(ValueError, match=r"num_canonical_nodes \(3\).*nodes \(2\)"):
        generate_work("device_per_stream", ordering, Topology(2, 1, 1), 0)


def test_device_per_stream_zero_shuffle_block() -> None:
    weights = [StreamWeight(proportion=0.99), StreamWeight(proportion=0.01)]
    ordering = make_settings(
        LAYOUT, weights, 200, shuffle=True, shuffle_algo="py1s", shuffle_block_size=50
    )
    with pytest.raises(ValueError, match="Stream 1's shuffle block"):
        generate_work("device_per_stream", ordering, Topology(1, 1, 1), 0)


def test_stratified_stream_without_a_share_of_the_batch() -> None:
    weights = [StreamWeight(proportion=0.9), StreamWeight(proportion=0.1)]
    ordering = make_settings(LAYOUT, weights, batch_size=1)
    with pytest.raises(ValueError, match="Stream 1 gets 0 samples of each global batch of 1"):
        generate_work("stratified", ordering, Topology(1, 1, 1), 0)


@pytest.mark.filterwarnings("ignore::streaming.ordering.batching.BatchingWarning")
def test_per_stream_stream_too_small_for_a_global_batch() -> None:
    ordering = make_settings(LAYOUT, [StreamWeight(), StreamWeight(choose=3)], batch_size=4)
    with pytest.raises(ValueError, match="Stream 1 has too few samples"):
        generate_work("per_stream", ordering, Topology(1, 1, 1), 0)


def test_stream_with_nothing_to_draw() -> None:
    ordering = make_settings(LAYOUT, [StreamWeight(), StreamWeight(choose=0)])
    generate_work("random", ordering, Topology(1, 1, 1), 0)
    with pytest.raises(ValueError, match="Nothing to draw from stream 1"):
        generate_work("per_stream", ordering, Topology(1, 1, 1), 0)


@pytest.mark.parametrize("method", ["stratified", "per_stream", "device_per_stream"])
def test_inexact_resumption_warns(method: str) -> None:
    ordering = make_settings(LAYOUT, [StreamWeight(repeat=4), StreamWeight(repeat=4)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        generate_work(method, ordering, Topology(1, 2, 1), 0, 9)
    messages = [str(w.message) for w in caught if w.category is BatchingWarning]
    assert any("global batch size 4" in m and "sample 8" in m for m in messages)


@pytest.mark.filterwarnings("ignore::streaming.ordering.batching.BatchingWarning")
def test_dropped_batches_warn() -> None:
    ordering = make_settings(LAYOUT, [StreamWeight(), StreamWeight()], batch_size=5)
    with pytest.warns(BatchingWarning, match="stream 0 does not fill its last batches"):
        generate_work("per_stream", ordering, Topology(1, 1, 1), 0)


def test_replication_warns_only_when_resuming() -> None:
    ordering = make_settings(LAYOUT, [StreamWeight(), StreamWeight()])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        generate_work("random", ordering, Topology(1, 4, 1), 0, 0, replication=2)
    with pytest.warns(BatchingWarning, match="replication=2"):
        generate_work("random", ordering, Topology(1, 4, 1), 0, 4, replication=2)


def test_settings_validation() -> None:
    with pytest.raises(ValueError, match="sampling_method"):
        OrderingSettings([[3]], [3], [1.0], 1, 1, sampling_method="even")
    with pytest.raises(ValueError, match="sampling_granularity"):
        OrderingSettings([[3]], [3], [1.0], 1, 1, sampling_granularity=0)
    with pytest.raises(ValueError, match="shuffle_seed"):
        OrderingSettings([[3]], [3], [1.0], 1, 1, shuffle_seed=-1)
    with pytest.raises(ValueError, match="one of each per stream"):
        OrderingSettings([[3], [4]], [3], [1.0], 1, 1)
    with pytest.raises(ValueError, match="ranks_per_node"):
        Topology(1, 0, 1)


def test_defaults() -> None:
    assert default_num_canonical_nodes("py1e", 3) == 3
    assert default_num_canonical_nodes("py1s", 3) == 192
    assert default_shuffle_block_size(1) == 4_000_000
    assert default_shuffle_block_size(64) == 1 << 18
    ordering = OrderingSettings([[3]], [3], [1.0], 1, 8)
    assert ordering.block_size == 500_000
    assert ordering == OrderingSettings(((3,),), (3,), (1.0,), 1, 8)  # a hashable value
    assert hash(ordering) == hash(OrderingSettings([[3]], [3], [1.0], 1, 8))


@pytest.mark.parametrize(
    ("topology", "replication", "expected"),
    [
        ((2, 4, 3), 2, (1, 4, 3)),
        ((4, 2, 1), 2, (2, 2, 1)),
        ((1, 8, 2), 4, (1, 2, 2)),
        ((2, 2, 1), 4, (1, 1, 1)),
        ((2, 3, 1), 3, (1, 2, 1)),  # 2 ranks do not fill a node of 3: one node
        ((3, 2, 1), 1, (3, 2, 1)),
        ((3, 2, 1), None, (3, 2, 1)),
    ],
)
def test_replicate(topology: tuple, replication: int | None, expected: tuple) -> None:
    assert Topology(*topology).replicate(replication) == Topology(*expected)


def test_replicate_errors() -> None:
    with pytest.raises(ValueError, match="positive"):
        Topology(1, 2, 1).replicate(0)
    with pytest.raises(ValueError, match="must divide the number of ranks"):
        Topology(1, 3, 1).replicate(2)


# --- properties -----------------------------------------------------------------------------


@st.composite
def datasets(draw: st.DrawFn) -> tuple[list, list]:
    layout = draw(
        st.lists(st.lists(st.integers(1, 40), min_size=1, max_size=5), min_size=1, max_size=3)
    )
    kind = draw(st.sampled_from(["proportion", "repeat", "none"]))
    if kind == "proportion":
        weights = [StreamWeight(proportion=draw(st.floats(0.2, 1))) for _ in layout]
    elif kind == "repeat":
        weights = [StreamWeight(repeat=draw(st.floats(0.5, 2.5))) for _ in layout]
    else:
        weights = [StreamWeight() for _ in layout]
    return layout, weights


topologies = st.tuples(st.sampled_from([1, 2]), st.integers(1, 3), st.integers(1, 3))


@PROPERTY
@given(
    dataset=datasets(),
    topology=topologies,
    batch_size=st.integers(1, 4),
    ncn_factor=st.sampled_from([1, 2]),
    shuffle=st.booleans(),
    shuffle_algo=st.sampled_from(sorted(SHUFFLE_ALGOS)),
    method=st.sampled_from(sorted(BATCHING_METHODS)),
    epoch=st.integers(0, 3),
    seed=st.integers(0, 2**16),
)
def test_work_properties(
    dataset: tuple,
    topology: tuple,
    batch_size: int,
    ncn_factor: int,
    shuffle: bool,
    shuffle_algo: str,
    method: str,
    epoch: int,
    seed: int,
) -> None:
    layout, weights = dataset
    ordering = make_settings(
        layout,
        weights,
        batch_size=batch_size,
        num_canonical_nodes=topology[0] * ncn_factor,
        shuffle=shuffle,
        shuffle_algo=shuffle_algo,
        shuffle_block_size=64,
        shuffle_seed=seed,
    )
    world = Topology(*topology)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            work = generate_work(method, ordering, world, epoch)
        except ValueError:  # streams too small for this method and batch size
            assume(False)
        again = generate_work(method, ordering, world, epoch)
    np.testing.assert_array_equal(work, again)  # deterministic
    assert work.dtype == np.int64
    assert work.shape[:3] == topology and work.shape[4] == batch_size
    total = sum(map(sum, layout))
    assert ((work >= -1) & (work < total)).all()  # valid sample IDs or padding
    kwargs = dict(seed=seed, epoch=epoch, shuffle=shuffle)
    used = set(work[work >= 0].tolist())
    if method == "random":  # every drawn sample, a few repeated to even out ranks
        _, drawn = resample_streams(layout, ordering.choose, **kwargs)
        assert used == set(drawn.tolist())
    else:  # streams drawn one by one; whole batches are dropped, never a sample added
        drawn = [resample_streams(layout, ordering.choose, stream_id=i, **kwargs)[1]
                 for i in range(len(layout))]  # fmt: skip
        assert used <= set(np.concatenate(drawn).tolist())
    batches = global_batches(work)
    full = batches[(batches >= 0).all(axis=1)]
    if method == "per_stream":
        origin = stream_of(full, layout)
        assert (origin == origin[:, :1]).all()
    elif method == "device_per_stream":
        origin = stream_of(full.reshape(-1, batch_size), layout)
        assert (origin == origin[:, :1]).all()
    elif method == "stratified":
        counts = [np.bincount(stream_of(b, layout), minlength=len(layout)) for b in full]
        assert all((c == counts[0]).all() for c in counts)


@PROPERTY
@given(
    sizes=st.lists(st.integers(1, 60), min_size=1, max_size=6),
    topology=topologies,
    batch_size=st.integers(1, 4),
    ncn_factor=st.sampled_from([1, 2, 4]),
    algo=st.sampled_from(["orig", "relaxed"]),
    resume=st.integers(0, 200),
)
def test_unshuffled_single_stream_random_is_the_partition(
    sizes: list, topology: tuple, batch_size: int, ncn_factor: int, algo: str, resume: int
) -> None:
    ncn = topology[0] * ncn_factor
    ordering = make_settings(
        [sizes], [StreamWeight()], batch_size=batch_size, num_canonical_nodes=ncn,
        partition_algo=algo,
    )  # fmt: skip
    args = (algo, sum(sizes), ncn, *topology, batch_size, resume, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = get_partitions(*args)
        except ValueError:
            with pytest.raises(ValueError):
                generate_work("random", ordering, Topology(*topology), 0, resume)
            return
        work = generate_work("random", ordering, Topology(*topology), 0, resume)
    np.testing.assert_array_equal(work, expected)


@PROPERTY
@given(
    dataset=datasets(),
    topology=topologies,
    batch_size=st.integers(1, 3),
    method=st.sampled_from(["stratified", "per_stream", "device_per_stream"]),
    skip=st.integers(1, 5),
    shuffle=st.booleans(),
)
def test_resuming_on_a_global_batch_continues_the_run(
    dataset: tuple, topology: tuple, batch_size: int, method: str, skip: int, shuffle: bool
) -> None:
    layout, weights = dataset
    ordering = make_settings(
        layout, weights, batch_size=batch_size, num_canonical_nodes=topology[0], shuffle=shuffle
    )
    world = Topology(*topology)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            whole = global_batches(generate_work(method, ordering, world, 1))
        except ValueError:
            assume(False)
        resumed = global_batches(
            generate_work(method, ordering, world, 1, skip * world.num_ranks * batch_size)
        )
    tail = whole[skip:]
    tail = tail[(tail >= 0).any(axis=1)]
    np.testing.assert_array_equal(resumed[: len(tail)], tail)
    assert (resumed[len(tail) :] == -1).all()
