"""Partitions: the spec's golden vectors, the errors, and properties for any topology.

Two ways of reading a partition ``part`` of shape (nodes, ranks, workers, batches, batch) are
used throughout:

* **Delivery order** (:func:`global_batches`): what a PyTorch DataLoader on every rank delivers.
  Each rank's DataLoader takes batches from its workers round-robin, so training step
  ``t = batch * workers + worker``; the *global batch* of step ``t`` is the concatenation over
  nodes, then ranks, of that batch: ``part.transpose(3, 2, 0, 1, 4).reshape(steps, G)`` with
  ``G = nodes * ranks * batch_size``.
* **Canonical order** (``canonical_order``/``reference_order``): the topology-free order the
  ``orig`` algorithm deals. Global batch ``t`` holds exactly canonical positions
  ``[t*G, (t+1)*G)`` (after the resume point), in an arrangement that depends on the topology.

So what the peer guarantees, and what is tested here, is: the sequence of global batches, each as
a multiset, is the same for every topology with the same ``num_canonical_nodes`` and global batch
size, apart from the padding at the very end of the epoch; and resuming at a global-batch boundary
continues with exactly the batches the uninterrupted run would have delivered.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from streaming.ordering.partition import (
    BatchSizeError,
    EmptyDatasetError,
    canonical_order,
    get_partitions,
    partition_orig,
    partition_relaxed,
)

# Small datasets on many ranks repeat samples with a warning (tested on its own below).
pytestmark = pytest.mark.filterwarnings("ignore:Attempting to partition:UserWarning")

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reference_order(num_samples: int, num_canonical_nodes: int) -> list[int]:
    """The canonical order, written plainly: contiguous rows (a short row repeats its last
    sample) read column by column. Valid for num_samples >= num_canonical_nodes; with more
    physical than canonical nodes the peer appends padding after it."""
    per_row = -(-num_samples // num_canonical_nodes)
    rows = []
    for node in range(num_canonical_nodes):
        start = node * num_samples // num_canonical_nodes
        stop = (node + 1) * num_samples // num_canonical_nodes
        row = list(range(start, stop))
        rows.append(row + [stop - 1] * (per_row - len(row)))
    return [rows[node][i] for i in range(per_row) for node in range(num_canonical_nodes)]


def global_batches(part: np.ndarray) -> np.ndarray:
    """(steps, global batch size): the DataLoader delivery order, -1 still in place."""
    nodes, ranks, _, _, batch = part.shape
    return part.transpose(3, 2, 0, 1, 4).reshape(-1, nodes * ranks * batch)


def rank_streams(part: np.ndarray) -> np.ndarray:
    """(nodes, ranks, samples): each rank's samples in the order its DataLoader yields them."""
    nodes, ranks = part.shape[:2]
    return part.transpose(0, 1, 3, 2, 4).reshape(nodes, ranks, -1)


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@st.composite
def setups(draw: st.DrawFn, min_ratio_rows: bool = True) -> dict:
    """NCN, a compatible node count, ranks, workers, batch size and enough samples to serve them
    (more physical than canonical nodes needs 2*ratio - 1 samples per canonical node)."""
    ncn = draw(st.integers(1, 16))
    nodes = draw(st.sampled_from(divisors(ncn) + [ncn * k for k in (2, 3, 4)]))
    ratio = max(nodes // ncn, 1)
    least = ncn * (2 * ratio - 1) if ratio > 1 else ncn
    return {
        "num_samples": draw(st.integers(least, least + 1500)),
        "num_canonical_nodes": ncn,
        "num_physical_nodes": nodes,
        "ranks_per_node": draw(st.integers(1, 8)),
        "workers_per_rank": draw(st.integers(1, 8)),
        "batch_size": draw(st.integers(1, 16)),
    }


def rounded_drop(drop_first: int, nodes: int) -> int:
    return drop_first - drop_first % nodes


def last_resume_point(num_samples: int, devices: int) -> int:
    """The furthest drop_first the peer accepts: past the next multiple of the device count."""
    return num_samples + devices - num_samples % devices


# --- golden vectors (spec dataset.md, "Golden vectors") -----------------------------------------


@pytest.mark.parametrize("algo", ["orig", "relaxed"])
def test_golden_vector(algo: str) -> None:
    part = get_partitions(algo, 18, 2, 1, 2, 2, 2)
    assert part.dtype == np.int64
    assert part.shape == (1, 2, 2, 3, 2)
    assert part.tolist() == [
        [
            [[[0, 1], [4, 5], [8, -1]], [[2, 3], [6, 7], [-1, -1]]],
            [[[9, 10], [13, 14], [17, -1]], [[11, 12], [15, 16], [-1, -1]]],
        ]
    ]


@pytest.mark.parametrize("algo", ["orig", "relaxed"])
def test_golden_vector_resumed(algo: str) -> None:
    part = get_partitions(algo, 18, 2, 1, 2, 2, 2, drop_first=6)
    assert part.shape == (1, 2, 2, 2, 2)
    assert part.tolist() == [
        [
            [[[3, 4], [7, 8]], [[5, 6], [-1, -1]]],
            [[[12, 13], [16, 17]], [[14, 15], [-1, -1]]],
        ]
    ]


def test_relaxed_recut_example() -> None:
    # Started on 2 nodes with batch 3, resumed on 3 nodes with batch 2 (global batch 6): the same
    # global batches, split differently. The initial -1 padding is re-cut too, so in the last
    # step the third node gets nothing and the others one sample each (as the peer does).
    initial = get_partitions("orig", 8, 2, 2, 1, 1, 3)
    assert global_batches(initial).tolist() == [[0, 1, 2, 4, 5, 6], [3, -1, -1, 7, -1, -1]]
    part = get_partitions("relaxed", 8, 2, 3, 1, 1, 2, initial_physical_nodes=2)
    assert part[:, 0, 0].tolist() == [[[0, 1], [3, -1]], [[2, 4], [-1, 7]], [[5, 6], [-1, -1]]]
    assert (global_batches(part) == global_batches(initial)).all()


def test_more_physical_than_canonical_nodes() -> None:
    # NCN=2 rows of 5 samples, padded to 6 for 2 physical nodes per canonical node: the padding
    # repeats a sample from 2 columns before the end of each row.
    assert canonical_order(10, 2, 4).tolist() == [0, 5, 1, 6, 2, 7, 3, 8, 4, 9, 3, 8]
    part = get_partitions("orig", 10, 2, 4, 1, 1, 3)
    assert part[:, 0, 0, 0].tolist() == [[0, 2, 4], [5, 7, 9], [1, 3, 3], [6, 8, 8]]


# --- errors and warnings ------------------------------------------------------------------------


def test_unknown_algo_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"'orig', 'relaxed'"):
        get_partitions("fancy", 10, 1, 1, 1, 1, 1)


@pytest.mark.parametrize("algo", ["orig", "relaxed"])
def test_incompatible_nodes(algo: str) -> None:
    with pytest.raises(ValueError, match=r"num_physical_nodes=3 and num_canonical_nodes=4"):
        get_partitions(algo, 100, 4, 3, 8, 2, 4)


def test_relaxed_incompatible_initial_nodes() -> None:
    with pytest.raises(ValueError, match=r"initial_physical_nodes=3 and num_canonical_nodes=4"):
        get_partitions("relaxed", 100, 4, 6, 1, 1, 1, initial_physical_nodes=3)


def test_relaxed_needs_constant_global_batch() -> None:
    # 3 nodes x 2 ranks x batch 3 = 18 samples per step, not divisible by 4 initial x 2 devices.
    with pytest.raises(ValueError, match=r"global batch size 18 .* initial device count 8"):
        get_partitions("relaxed", 100, 4, 3, 2, 1, 3, initial_physical_nodes=4)


def test_missing_batch_size_is_a_type_error() -> None:
    with pytest.raises(BatchSizeError, match="batch_size"):
        get_partitions("orig", 100, 4, 2, 2, 2)
    assert issubclass(BatchSizeError, TypeError)  # the peer fails multiplying by None


def test_empty_dataset() -> None:
    with pytest.warns(UserWarning, match="0 samples"), pytest.raises(EmptyDatasetError):
        get_partitions("orig", 0, 4, 2, 2, 2, 2)
    assert issubclass(EmptyDatasetError, ValueError)
    assert issubclass(EmptyDatasetError, ZeroDivisionError)  # what the peer raises


def test_too_few_samples_per_canonical_node_for_the_nodes() -> None:
    # 5 samples in 1 canonical node cannot be padded over 8 physical nodes (the peer fails in a
    # numpy broadcast); the message says what to change.
    with pytest.raises(ValueError, match=r"num_samples=5 is too small .* at least 8 canonical"):
        get_partitions("orig", 5, 1, 8, 1, 1, 1)


def test_resume_past_the_end() -> None:
    # 10 samples on 4 devices: the peer accepts resume points up to 10 + 4 - 10 % 4 = 12.
    assert get_partitions("orig", 10, 2, 2, 2, 1, 1, drop_first=12).size == 0
    with pytest.raises(ValueError, match=r"drop_first=13 .* 10 samples"):
        get_partitions("orig", 10, 2, 2, 2, 1, 1, drop_first=13)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_samples": -1},
        {"num_canonical_nodes": 0},
        {"num_physical_nodes": 0},
        {"ranks_per_node": 0},
        {"workers_per_rank": 0},
        {"batch_size": 0},
        {"drop_first": -2},
        {"initial_physical_nodes": 0, "num_physical_nodes": 3},
        {"num_samples": 2.5},
    ],
)
def test_invalid_settings(kwargs: dict) -> None:
    settings_ = {
        "num_samples": 100,
        "num_canonical_nodes": 4,
        "num_physical_nodes": 2,
        "ranks_per_node": 2,
        "workers_per_rank": 2,
        "batch_size": 4,
        **kwargs,
    }
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name):
        get_partitions("relaxed", **settings_)


def test_tiny_dataset_is_tiled_with_a_warning() -> None:
    with pytest.warns(UserWarning, match="3 samples over 8 canonical nodes"):
        part = get_partitions("orig", 3, 8, 2, 1, 1, 2)
    assert set(part[part >= 0].tolist()) == {0, 1, 2}


def test_few_samples_per_node_over_many_ranks_warns() -> None:
    with pytest.warns(UserWarning, match="2 samples per physical node over 8 ranks"):
        part = get_partitions("orig", 4, 2, 2, 8, 1, 1)
    assert (part >= 0).all()


def test_no_warning_for_ordinary_settings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_partitions("relaxed", 1000, 8, 4, 8, 2, 16, drop_first=333)


def test_direct_calls_match_get_partitions() -> None:
    args = (1000, 8, 4, 8, 2, 16, 64)
    assert (partition_orig(*args) == get_partitions("orig", *args)).all()
    assert (partition_relaxed(*args, 2) == get_partitions("relaxed", *args, 2)).all()


# --- properties ---------------------------------------------------------------------------------


@PROPERTY
@given(setups(), st.data())
def test_every_sample_once_in_canonical_order_then_padding(s: dict, data: st.DataObject) -> None:
    """Read in canonical order, the partition is the reference order from the resume point on,
    then padding: repeats of existing samples (ranks), then -1 (workers)."""
    drop_first = data.draw(st.integers(0, s["num_samples"]))
    part = get_partitions("orig", **s, drop_first=drop_first)
    nodes, ranks, workers, _, batch = part.shape
    assert (nodes, ranks, workers, batch) == (
        s["num_physical_nodes"],
        s["ranks_per_node"],
        s["workers_per_rank"],
        s["batch_size"],
    )
    assert part.dtype == np.int64
    dropped = rounded_drop(drop_first, nodes)
    expected = reference_order(s["num_samples"], s["num_canonical_nodes"])[dropped:]
    read = part.transpose(3, 2, 4, 1, 0).ravel()  # step, position in batch, rank, node
    assert read[: len(expected)].tolist() == expected
    tail = read[len(expected) :]
    real = tail[tail >= 0]
    # Padding repeats existing samples; with more physical than canonical nodes, the row padding
    # may repeat a sample from before the resume point (as the peer does).
    assert ((real >= 0) & (real < s["num_samples"])).all()
    if nodes <= s["num_canonical_nodes"]:
        assert set(real.tolist()) <= set(expected)
    assert (tail >= -1).all()
    if drop_first == 0:
        assert set(read.tolist()) - {-1} == set(range(s["num_samples"]))


@PROPERTY
@given(setups(), st.data())
def test_ranks_get_equal_counts_and_minus_one_only_at_the_end(s: dict, data) -> None:
    drop_first = data.draw(st.integers(0, s["num_samples"]))
    part = get_partitions("orig", **s, drop_first=drop_first)
    streams = rank_streams(part)
    counts = (streams >= 0).sum(axis=2)
    assert (counts == counts.flat[0]).all()
    # -1 only as a suffix of each rank's stream, shorter than one round of worker batches.
    assert (streams[:, :, : counts.flat[0]] >= 0).all()
    assert streams.shape[2] - counts.flat[0] < s["workers_per_rank"] * s["batch_size"]


@PROPERTY
@given(setups(), setups(), st.data())
def test_global_batches_are_the_same_for_every_topology(a: dict, b: dict, data) -> None:
    """Each global batch is the next G samples of the canonical order, whatever the topology,
    so topologies with the same NCN and global batch size deliver the same global batches."""
    b = {**b, "num_samples": a["num_samples"], "num_canonical_nodes": a["num_canonical_nodes"]}
    ncn = a["num_canonical_nodes"]
    b["num_physical_nodes"] = data.draw(st.sampled_from(divisors(ncn) + [2 * ncn]))
    if b["num_physical_nodes"] > ncn and a["num_samples"] < 3 * ncn:
        b["num_physical_nodes"] = ncn
    # One more topology with a's global batch size, where one exists.
    size_a = a["num_physical_nodes"] * a["ranks_per_node"] * a["batch_size"]
    same = [
        (nodes, ranks)
        for nodes in divisors(ncn) + [ncn * k for k in (2, 3, 4)]
        for ranks in range(1, 9)
        if size_a % (nodes * ranks) == 0 and a["num_samples"] >= ncn * (2 * (nodes // ncn) - 1)
    ]
    nodes_c, ranks_c = data.draw(st.sampled_from(same))
    c = {
        **a,
        "num_physical_nodes": nodes_c,
        "ranks_per_node": ranks_c,
        "batch_size": size_a // (nodes_c * ranks_c),
        "workers_per_rank": data.draw(st.integers(1, 8)),
    }
    reference = reference_order(a["num_samples"], ncn)
    sequences = []
    for s in (a, b, c):
        batches = global_batches(
            get_partitions(data.draw(st.sampled_from(["orig", "relaxed"])), **s)
        )
        size = batches.shape[1]
        complete = len(reference) // size
        sequences.append([sorted(x) for x in batches[:complete].tolist()])
        for t in range(complete):
            assert sequences[-1][t] == sorted(reference[t * size : (t + 1) * size])
    assert sequences[0] == sequences[2]


@PROPERTY
@given(setups(), st.data())
def test_resuming_continues_with_the_same_batches(s: dict, data) -> None:
    """drop_first = k global batches: the resumed run delivers exactly the batches the whole run
    delivers from step k on (up to the end-of-epoch padding). Elsewhere the resume point is
    rounded down to a multiple of the node count: a few samples are seen twice, none skipped."""
    algo = data.draw(st.sampled_from(["orig", "relaxed"]))
    whole = global_batches(get_partitions(algo, **s))
    size = whole.shape[1]
    usable = len(reference_order(s["num_samples"], s["num_canonical_nodes"])) // size
    devices = s["num_physical_nodes"] * s["ranks_per_node"]
    k = data.draw(st.integers(0, min(usable, last_resume_point(s["num_samples"], devices) // size)))
    resumed = global_batches(get_partitions(algo, **s, drop_first=k * size))
    assert (resumed[: usable - k] == whole[k:usable]).all()

    drop_first = data.draw(st.integers(0, s["num_samples"]))
    part = get_partitions(algo, **s, drop_first=drop_first)
    seen_before = rounded_drop(drop_first, s["num_physical_nodes"])
    reference = reference_order(s["num_samples"], s["num_canonical_nodes"])
    assert set(reference[seen_before:]) <= set(part.ravel().tolist())


@PROPERTY
@given(setups(), st.data())
def test_relaxed_resumes_on_any_node_count(s: dict, data) -> None:
    """Resumed on a node count NCN does not allow, relaxed delivers the initial run's global
    batches, -1 included, only split differently over devices and workers."""
    ncn = s["num_canonical_nodes"]
    initial, ranks = s["num_physical_nodes"], s["ranks_per_node"]
    size = initial * ranks * s["batch_size"]
    nodes = [
        n for n in range(1, 4 * ncn + 2) if max(n, ncn) % min(n, ncn) and size % (n * ranks) == 0
    ]
    assume(nodes)
    now = data.draw(st.sampled_from(nodes))
    workers = s["workers_per_rank"]
    steps = len(reference_order(s["num_samples"], ncn)) // size
    for devices in (initial * ranks, now * ranks):
        steps = min(steps, last_resume_point(s["num_samples"], devices) // size)
    drop_first = data.draw(st.integers(0, steps)) * size
    first = get_partitions("orig", **s, drop_first=drop_first)
    resumed = get_partitions(
        "relaxed",
        s["num_samples"],
        ncn,
        now,
        ranks,
        workers,
        size // (now * ranks),
        drop_first,
        initial_physical_nodes=initial,
    )
    assert resumed.shape[:3] == (now, ranks, workers)
    assert (global_batches(resumed) == global_batches(first)).all()
