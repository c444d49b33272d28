"""`node_work`: one node's part of the epoch, alone and window by window, equals
``generate_work(...)[node]`` exactly, publishes only final entries, and does not compute the other
nodes' parts."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from contextlib import ExitStack
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from streaming.ordering import node_order
from streaming.ordering.batching import (
    BatchingWarning,
    MissingBatchSizeError,
    OrderingSettings,
    Topology,
    generate_work,
)
from streaming.ordering.mixing import weigh_streams
from streaming.ordering.mixing.weights import EmptyStreamError
from streaming.ordering.node_order import NodeWork, node_work, worker_ready
from streaming.ordering.shuffle import py1e_windows

PROPERTY = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def small_windows() -> ExitStack:
    """Windows, draws and writes of a few samples, so that small epochs publish early."""
    stack = ExitStack()
    stack.enter_context(mock.patch.object(py1e_windows, "WINDOW_BITS", 2))
    stack.enter_context(mock.patch.object(py1e_windows, "DRAW_SAMPLES", 7))
    stack.enter_context(mock.patch.object(node_order, "WRITE_ROWS_ENTRIES", 5))
    return stack


def fill_checked(work: NodeWork, expected: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Fill, checking at every publish that each worker's ready entries are final."""
    out = np.full(work.shape, 99, work.dtype)
    published: list[int] = []

    def publish(k: int) -> None:
        assert not published or k >= published[-1], published + [k]
        published.append(k)
        for rank in range(work.shape[0]):
            for worker in range(work.shape[1]):
                ready = worker_ready(k, work.shape, rank, worker)
                got = out[rank, worker].ravel()[:ready].copy()
                np.testing.assert_array_equal(got, expected[rank, worker].ravel()[:ready])

    work.fill(out, publish)
    assert published[-1] == out.size
    return out, published


def smallest_dtype(shard_sizes: list) -> np.dtype:
    largest = sum(map(sum, shard_sizes)) - 1
    return np.dtype(
        next(t for t in (np.int8, np.int16, np.int32, np.int64) if largest <= np.iinfo(t).max)
    )


@st.composite
def cases(draw: st.DrawFn) -> dict:
    layout = draw(
        st.lists(st.lists(st.integers(0, 60), min_size=1, max_size=7), min_size=1, max_size=3)
    )
    totals = [sum(stream) for stream in layout]
    weights = [
        draw(
            st.sampled_from([{}, {"choose": max(t // 2, 1)}, {"repeat": 1.5}, {"proportion": 0.5}])
        )
        for t in totals
    ]
    if any("proportion" in w for w in weights):
        weights = [{"proportion": 1.0 / len(layout)}] * len(layout)
    canonical = draw(st.integers(1, 8))
    nodes = draw(st.sampled_from([1, 2, 3, 4, 8]))
    ranks = draw(st.integers(1, 3))
    replication = draw(st.sampled_from([None, 1, 2, ranks * nodes]))
    kwargs = dict(
        batch_size=draw(st.integers(1, 4)),
        num_canonical_nodes=canonical,
        partition_algo=draw(st.sampled_from(["orig", "relaxed"])),
        shuffle=draw(st.booleans()),
        shuffle_algo=draw(st.sampled_from(["py1e", "py1e", "py1e", "py1s"])),
        shuffle_seed=draw(st.integers(0, 1000)),
        shuffle_block_size=draw(st.integers(1, 80)),
        initial_physical_nodes=draw(st.sampled_from([None, None, 1, 2, canonical])),
    )
    return dict(
        layout=layout,
        weights=weights,
        epoch_size=draw(st.sampled_from([None, None, 50])),
        kwargs=kwargs,
        topology=Topology(nodes, ranks, draw(st.integers(1, 3))),
        replication=replication,
        epoch=draw(st.integers(0, 3)),
        resume=draw(st.floats(0, 1.05)),
        method=draw(st.sampled_from(["random"] * 5 + ["stratified"])),
    )


def make_settings(case: dict) -> OrderingSettings | None:
    totals = [sum(stream) for stream in case["layout"]]
    try:
        weights = weigh_streams(totals, case["weights"], case["epoch_size"], 9176)
    except (ValueError, ZeroDivisionError, EmptyStreamError):
        return None
    return OrderingSettings.from_weights(case["layout"], weights, **case["kwargs"])


def run_case(case: dict, record: bool = True) -> list[bool]:
    """Check every node of the case; returns which took the windowed path."""
    settings_ = make_settings(case)
    if settings_ is None:
        return []
    args = ("random" if case["method"] == "random" else case["method"], settings_)
    topology, replication, epoch = case["topology"], case["replication"], case["epoch"]
    total = sum(settings_.choose)
    sample_in_epoch = int(case["resume"] * total)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            work = generate_work(*args, topology, epoch, sample_in_epoch, replication)
        except (ValueError, TypeError, RuntimeError, ZeroDivisionError) as error:
            with pytest.raises(type(error)) as raised:
                node_work(*args, topology, epoch, sample_in_epoch, replication, 0)
            assert str(raised.value) == str(error)
            if record:
                event("error")
            return []
        windowed = []
        for node in range(len(work)):
            part = node_work(*args, topology, epoch, sample_in_epoch, replication, node)
            assert part.dtype == smallest_dtype(case["layout"])
            assert part.shape == work[node].shape
            out, published = fill_checked(part, work[node])
            np.testing.assert_array_equal(out, work[node])
            if not part.windowed:
                assert published == [out.size]
            windowed.append(part.windowed)
    if record:
        event("windowed" if any(windowed) else "whole")
    return windowed


@PROPERTY
@given(case=cases())
def test_node_part_equals_generate_work(case: dict) -> None:
    with small_windows():
        run_case(case)


@PROPERTY
@given(case=cases())
def test_node_part_equals_generate_work_default_windows(case: dict) -> None:
    run_case(case)


def margins_spy() -> tuple[list, Callable]:
    """A stand-in for `_FastJob._sources` that records each margin it is called with."""
    calls: list = []
    sources = node_order._FastJob._sources

    def spy(self, node: int, margin: int | None):  # noqa: ANN001, ANN202
        calls.append(margin)
        return sources(self, node, margin)

    return calls, spy


# A resume at the epoch's end reads rows past a canonical node's end, which read its last row:
# the samples counted below the margin must not exceed that row (found by the test below).
AT_A_NODE_END = dict(
    layout=[[13], [5, 17]],
    weights=[{}, {}],
    epoch_size=50,
    kwargs=dict(
        batch_size=1,
        num_canonical_nodes=6,
        partition_algo="orig",
        shuffle=True,
        shuffle_algo="py1e",
        shuffle_seed=0,
        shuffle_block_size=4,
        initial_physical_nodes=None,
    ),
    topology=Topology(1, 1, 1),
    replication=None,
    epoch=0,
    resume=1.0,
    method="random",
)


@PROPERTY
@given(case=cases(), margin=st.sampled_from([0, 1, 3, 8]))
@example(case=AT_A_NODE_END, margin=0)
def test_node_part_equals_generate_work_narrow_resume_margin(case: dict, margin: int) -> None:
    """A resume sorts from `margin` below its first row, checks that no more samples than
    that row lie below, and starts again with a position's whole reach when they do."""
    calls, spy = margins_spy()
    with small_windows(), mock.patch.object(node_order, "RESUME_MARGIN", margin):
        with mock.patch.object(node_order._FastJob, "_sources", spy):
            run_case(case, record=False)
    event("margin missed" if None in calls else "margin held" if calls else "no fast path")


def test_a_missed_resume_margin_starts_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Margin 0 misses at about half the resume points: those start again, exactly."""
    monkeypatch.setattr(py1e_windows, "WINDOW_BITS", 4)
    monkeypatch.setattr(py1e_windows, "DRAW_SAMPLES", 64)
    monkeypatch.setattr(node_order, "RESUME_MARGIN", 0)
    settings_ = OrderingSettings(
        [[50] * 200], [10_000], [1.0], 4, 1, shuffle=True, shuffle_block_size=400
    )
    topology = Topology(1, 2, 2)
    calls, spy = margins_spy()
    monkeypatch.setattr(node_order._FastJob, "_sources", spy)
    for resume in range(3_000, 9_000, 500):
        expected = generate_work("random", settings_, topology, 1, resume)
        work = node_work("random", settings_, topology, 1, resume, None, 0)
        out, _ = fill_checked(work, expected[0])
        np.testing.assert_array_equal(out, expected[0])
    assert calls.count(0) == 12 and 0 < calls.count(None) < 12, calls


def test_cases_take_both_paths() -> None:
    base = dict(
        layout=[[30, 0, 25, 40]],
        weights=[{}],
        epoch_size=None,
        topology=Topology(2, 2, 2),
        replication=None,
        epoch=1,
        resume=0.3,
        method="random",
    )
    kwargs = dict(batch_size=3, num_canonical_nodes=4, shuffle=True, shuffle_block_size=20)
    with small_windows():
        assert run_case({**base, "kwargs": kwargs}, False) == [True, True]
        assert run_case({**base, "kwargs": {**kwargs, "shuffle": False}}, False) == [True, True]
        assert (
            run_case({**base, "kwargs": {**kwargs, "shuffle_algo": "py1br"}}, False) == [False] * 2
        )
        assert (
            run_case({**base, "kwargs": {**kwargs, "num_canonical_nodes": 1}}, False) == [False] * 2
        )
        assert run_case({**base, "method": "per_stream", "kwargs": kwargs}, False) == [False, False]


def test_smallest_dtype() -> None:
    for total, dtype in [(128, np.int8), (129, np.int16), (32768, np.int16), (32769, np.int32)]:
        settings_ = OrderingSettings([[total]], [total], [1.0], 4, 1)
        assert node_work("random", settings_, Topology(1, 1, 1), 0, 0, None, 0).dtype == dtype


def test_errors_are_generate_works() -> None:
    settings_ = OrderingSettings([[10, 10]], [20], [1.0], None, 2)
    with pytest.raises(MissingBatchSizeError, match="batch_size is None"):
        node_work("random", settings_, Topology(2, 1, 1), 0, 0, None, 0)
    settings_ = OrderingSettings([[10, 10]], [20], [1.0], 2, 2)
    with pytest.raises(ValueError, match="drop_first=30 resumes past the end of the epoch"):
        node_work("random", settings_, Topology(2, 1, 1), 0, 30, None, 0)
    with pytest.raises(ValueError, match=r"node=2 is not a node of this run: it has 2 nodes"):
        node_work("random", settings_, Topology(2, 1, 1), 0, 0, None, 2)
    with pytest.raises(ValueError, match="Unknown batching_method 'sorted'"):
        node_work("sorted", settings_, Topology(2, 1, 1), 0, 0, None, 0)


def test_replication_warning_as_generate_work() -> None:
    settings_ = OrderingSettings([[10, 10]], [20], [1.0], 2, 2)
    with pytest.warns(BatchingWarning, match="replication=2: resuming from sample 4") as caught:
        work = node_work("random", settings_, Topology(4, 2, 1), 0, 4, 2, 1)
    assert work.windowed and len(caught) == 1


def test_fill_refuses_a_wrong_array() -> None:
    settings_ = OrderingSettings([[10, 10]], [20], [1.0], 2, 2)
    work = node_work("random", settings_, Topology(2, 1, 1), 0, 0, None, 0)
    with pytest.raises(ValueError, match=r"C-ordered int8 array of shape \(1, 1, 5, 2\)"):
        work.fill(np.empty((1, 1, 3, 2), np.int64), lambda k: None)


def test_worker_ready_counts_a_workers_entries() -> None:
    shape = (2, 3, 2, 2)  # 2 ranks, 3 workers, 2 batches of 2
    assert [worker_ready(k, shape, 0, 0) for k in range(0, 8)] == [0, 1, 1, 2, 2, 2, 2, 2]
    assert [worker_ready(k, shape, 1, 1) for k in range(0, 10)] == [0] * 6 + [1, 1, 2, 2]
    assert worker_ready(13, shape, 0, 0) == 3  # rank 0's sample 6: worker 0's second batch
    assert worker_ready(24, shape, 1, 2) == 4 and worker_ready(99, shape, 0, 0) == 4


def test_fast_path_computes_only_its_own_canonical_nodes() -> None:
    """No generate_work, and sample IDs built for the node's own canonical nodes only."""
    settings_ = OrderingSettings(
        [[1000] * 40], [40_000], [1.0], 16, 8, shuffle=True, shuffle_block_size=3000
    )
    topology = Topology(4, 2, 2)
    expected = generate_work("random", settings_, topology, 2, 0)
    built = []
    segment_positions = py1e_windows.segment_positions

    def spy(firsts, sizes, dtype=np.int64, out=None):  # noqa: ANN001, ANN202
        built.append(int(np.sum(sizes)))
        return segment_positions(firsts, sizes, dtype, out)

    with (
        mock.patch.object(node_order, "generate_work", side_effect=AssertionError),
        mock.patch.object(py1e_windows, "segment_positions", spy),
    ):
        for node in range(4):
            built.clear()
            out, _ = fill_checked(
                node_work("random", settings_, topology, 2, 0, None, node), expected[node]
            )
            np.testing.assert_array_equal(out, expected[node])
            assert built == [5000, 5000]  # canonical nodes node and node + 4


def steps_spy(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """Records, per `WindowedNode.step`, the samples drawn so far and the rows sorted."""
    record: dict[str, list] = {"drawn": [], "sorted": [], "ties": []}
    step, write = py1e_windows.WindowedNode.step, py1e_windows.PositionSweep._write
    ties = py1e_windows.TieOrder.__init__

    def counted_step(self):  # noqa: ANN001, ANN202
        step(self)
        record["drawn"].append(self.drawn)

    def counted_write(self, start, pieces):  # noqa: ANN001, ANN202
        record["sorted"].append(sum(len(ids) for _, ids in pieces))
        return write(self, start, pieces)

    def counted_ties(self, plan, start):  # noqa: ANN001, ANN202
        record["ties"].append(start.node)
        return ties(self, plan, start)

    monkeypatch.setattr(py1e_windows.WindowedNode, "step", counted_step)
    monkeypatch.setattr(py1e_windows.PositionSweep, "_write", counted_write)
    monkeypatch.setattr(py1e_windows.TieOrder, "__init__", counted_ties)
    return record


def test_windowed_fill_publishes_early(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first publish comes after drawing a few blocks' positions, not the node's."""
    monkeypatch.setattr(py1e_windows, "WINDOW_BITS", 8)
    monkeypatch.setattr(py1e_windows, "DRAW_SAMPLES", 1000)
    monkeypatch.setattr(node_order, "WRITE_ROWS_ENTRIES", 1000)
    settings_ = OrderingSettings(
        [[100] * 1000], [100_000], [1.0], 8, 1, shuffle=True, shuffle_block_size=2000
    )
    topology = Topology(1, 2, 2)
    expected = generate_work("random", settings_, topology, 0, 0)[0]
    record = steps_spy(monkeypatch)
    work = node_work("random", settings_, topology, 0, 0, None, 0)
    first: list[tuple[int, int]] = []

    def publish(k: int) -> None:
        if not first:
            first.append((k, record["drawn"][-1]))

    out = np.empty(work.shape, work.dtype)
    work.fill(out, publish)
    np.testing.assert_array_equal(out, expected)
    k, drawn = first[0]
    assert 0 < k and drawn <= 5000  # a window past the largest shift (1250) and a step
    assert len(record["drawn"]) >= 90 and sum(record["sorted"]) == 100_000


def test_resume_does_not_sort_the_skipped_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(py1e_windows, "WINDOW_BITS", 8)
    monkeypatch.setattr(py1e_windows, "DRAW_SAMPLES", 1000)
    settings_ = OrderingSettings(
        [[100] * 1000], [100_000], [1.0], 8, 2, shuffle=True, shuffle_block_size=2000
    )
    topology = Topology(2, 2, 2)
    resume = 90_000
    expected = generate_work("random", settings_, topology, 3, resume)
    record = steps_spy(monkeypatch)
    for node in range(2):
        work = node_work("random", settings_, topology, 3, resume, None, node)
        out, _ = fill_checked(work, expected[node])
        np.testing.assert_array_equal(out, expected[node])
    # Each node reads its last 5,000 rows: sorted with a margin of half a window (1,250) and
    # a sweep window (256) on each side, not 50,000.
    assert sum(record["sorted"]) <= 2 * (5000 + 1250 + 2 * 256)


class RoundedUniform(np.random.Generator):
    """A generator whose ``uniform`` rounds to quarters, so that positions tie."""

    def uniform(self, low=0.0, high=1.0, size=None):  # noqa: ANN001, ANN201, D102
        return np.round(super().uniform(low, high, size) * 4) / 4

    def __deepcopy__(self, memo: dict) -> RoundedUniform:
        clone = RoundedUniform(np.random.PCG64())
        clone.bit_generator.state = self.bit_generator.state
        return clone


def test_ties_are_ordered_as_argsort_of_the_node(monkeypatch: pytest.MonkeyPatch) -> None:
    """Equal positions are ordered as np.argsort of the whole node orders them: the sweep goes
    on, the rows before the first tie are published, and the tied IDs are reordered by one
    argsort per node, computed beside the sweep; no sample is shuffled or sorted twice."""
    from streaming.ordering.shuffle import spans

    make_rng = spans.make_rng
    monkeypatch.setattr(spans, "make_rng", lambda *a: RoundedUniform(make_rng(*a).bit_generator))
    monkeypatch.setattr(py1e_windows, "WINDOW_BITS", 4)
    monkeypatch.setattr(py1e_windows, "DRAW_SAMPLES", 50)
    monkeypatch.setattr(node_order, "WRITE_ROWS_ENTRIES", 30)
    settings_ = OrderingSettings(
        [[40] * 60], [2400], [1.0], 4, 4, shuffle=True, shuffle_block_size=300
    )
    topology = Topology(2, 2, 1)
    expected = generate_work("random", settings_, topology, 1, 0)
    record = steps_spy(monkeypatch)
    shuffled: list[int] = []
    shuffle = py1e_windows.shuffle_segments
    monkeypatch.setattr(
        py1e_windows,
        "shuffle_segments",
        lambda rng, ids, sizes: (shuffled.append(len(ids)), shuffle(rng, ids, sizes))[1],
    )
    for node in range(2):
        out, published = fill_checked(
            node_work("random", settings_, topology, 1, 0, None, node), expected[node]
        )
        np.testing.assert_array_equal(out, expected[node])
        assert len(published) > 3
    assert sorted(record["ties"]) == [0, 1, 2, 3]  # every node had ties, each repaired once
    assert sum(shuffled) == 2400 and len(shuffled) > 4  # each sample shuffled once, by steps
    assert sum(record["sorted"]) == 2400  # and swept once


def test_rows_before_the_first_tie_are_published_before_the_repair(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A tie late in the node holds back only the rows from it on."""
    settings_ = OrderingSettings(
        [[1000] * 100], [100_000], [1.0], 8, 1, shuffle=True, shuffle_block_size=2000
    )
    monkeypatch.setattr(py1e_windows, "WINDOW_BITS", 8)
    monkeypatch.setattr(py1e_windows, "DRAW_SAMPLES", 1000)
    monkeypatch.setattr(node_order, "WRITE_ROWS_ENTRIES", 1000)
    expected = generate_work("random", settings_, Topology(1, 1, 1), 0, 0)[0]
    tie_row = 80_000
    write = py1e_windows.PositionSweep._write

    def tie_late(self, start, pieces):  # noqa: ANN001, ANN202
        before = self.written
        write(self, start, pieces)
        if before <= tie_row < self.written and not self.tie_starts:  # a fake pair of ties
            self.tie_starts.append(np.array([tie_row]))
            self.tie_sizes.append(np.array([1]))

    monkeypatch.setattr(py1e_windows.PositionSweep, "_write", tie_late)
    applied: list[int] = []
    apply = py1e_windows.TieOrder.apply
    monkeypatch.setattr(
        py1e_windows.TieOrder, "apply", lambda *a: (applied.append(1), apply(*a))[1]
    )
    work = node_work("random", settings_, Topology(1, 1, 1), 0, 0, None, 0)
    published: list[tuple[int, int]] = []
    out = np.empty(work.shape, work.dtype)
    work.fill(out, lambda k: published.append((k, len(applied))))
    np.testing.assert_array_equal(out, expected)
    before_repair = [k for k, repaired in published if not repaired]
    assert max(before_repair) >= tie_row - 2000 and max(before_repair) <= tie_row
    assert applied == [1]


def test_skipping_draws_as_drawing() -> None:
    """The scratch draws leave the generator exactly where the real ones do."""
    sizes = np.array([0, 1, 5, 1000, 3, 0, 77])
    for seed in range(5):
        real, skipped = np.random.default_rng(seed), np.random.default_rng(seed)
        real.integers(0, 7)  # leave half a 32-bit draw buffered
        skipped.integers(0, 7)
        ids = np.arange(int(sizes.sum()))
        py1e_windows.shuffle_segments(real, ids, sizes)
        py1e_windows.draw_positions(real, sizes.tolist(), 20, 60)
        py1e_windows.skip_shuffles(skipped, sizes)
        assert py1e_windows.skip_positions(skipped, sizes, 20, 60)
        assert real.bit_generator.state == skipped.bit_generator.state
