"""The shuffle algorithms: golden vectors from the peer, and properties for any settings."""

from __future__ import annotations

import warnings
from contextlib import ExitStack

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streaming.ordering.shuffle import SHUFFLE_ALGOS, divide_spans, get_shuffle

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SPAN_ALGOS = ["py1s", "py2s", "py1br", "py1e"]

# mosaicml-streaming 0.13.0, numpy 2.1.3: shard_sizes=[5, 3, 4, 6], NCN=2, seed=9176, epoch=0,
# block_size=8 (spec: dataset.md, "Golden vectors").
GOLDEN = {
    "naive": [5, 2, 0, 6, 8, 7, 9, 11, 10, 15, 13, 1, 17, 14, 12, 3, 16, 4],
    "py1s": [12, 13, 6, 7, 5, 10, 9, 8, 11, 2, 0, 3, 4, 1, 16, 15, 14, 17],
    "py2s": [17, 14, 6, 5, 7, 11, 9, 10, 8, 0, 2, 1, 3, 4, 16, 15, 12, 13],
    "py1br": [5, 8, 12, 6, 10, 13, 9, 7, 11, 0, 2, 1, 15, 14, 16, 3, 4, 17],
    "py1e": [13, 12, 9, 6, 10, 8, 7, 11, 5, 3, 4, 2, 0, 17, 1, 16, 14, 15],
}

shard_sizes = st.lists(
    st.one_of(st.integers(0, 3), st.integers(0, 60), st.integers(0, 3000)), max_size=40
)
seeds = st.integers(0, 2**31)
epochs = st.integers(0, 10)
block_sizes = st.one_of(st.integers(1, 16), st.integers(1, 5000), st.just(1 << 18))


def _shuffle(algo: str, sizes: list[int], ncn: int, seed: int, epoch: int, block: int):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # py1e warns when a shard outgrows the block
        return get_shuffle(algo, np.array(sizes, dtype=np.int64), ncn, seed, epoch, block)


def _is_refused(algo: str, sizes: list[int], ncn: int, block: int) -> bool:
    """The settings the peer refuses (with a ValueError), and so do we."""
    if algo == "py1br":
        return block < 2  # its per-node stagger is drawn from [0, int(0.75 * block))
    if algo == "py1e":
        return sum(sizes) < ncn or block < 1  # it refuses a canonical node without samples
    return False


def _node_sets(order: np.ndarray, ncn: int) -> list[set[int]]:
    n = len(order)
    return [set(order[n * p // ncn : n * (p + 1) // ncn].tolist()) for p in range(ncn)]


@pytest.mark.parametrize("algo", sorted(GOLDEN))
def test_golden_vectors(algo: str) -> None:
    order = get_shuffle(algo, np.array([5, 3, 4, 6]), 2, 9176, 0, 8)
    assert order.dtype == np.int64
    assert order.tolist() == GOLDEN[algo]


def test_registry_names_the_algorithms() -> None:
    assert sorted(SHUFFLE_ALGOS) == ["naive", "py1br", "py1e", "py1s", "py2s"]
    with pytest.raises(ValueError, match="naive, py1br, py1e, py1s, py2s"):
        get_shuffle("py1b", np.array([5, 3]), 1, 0, 0)


@pytest.mark.parametrize("algo", sorted(SHUFFLE_ALGOS))
@PROPERTY
@given(sizes=shard_sizes, ncn=st.integers(1, 16), seed=seeds, epoch=epochs, block=block_sizes)
def test_a_deterministic_permutation(
    algo: str, sizes: list[int], ncn: int, seed: int, epoch: int, block: int
) -> None:
    if _is_refused(algo, sizes, ncn, block):
        with pytest.raises(ValueError):
            _shuffle(algo, sizes, ncn, seed, epoch, block)
        return
    order = _shuffle(algo, sizes, ncn, seed, epoch, block)
    assert order.dtype == np.int64
    np.testing.assert_array_equal(np.sort(order), np.arange(sum(sizes)))
    np.testing.assert_array_equal(order, _shuffle(algo, sizes, ncn, seed, epoch, block))


@pytest.mark.parametrize("algo", SPAN_ALGOS)
@PROPERTY
@given(sizes=shard_sizes, ncn=st.integers(1, 16), seed=seeds, epochs=st.lists(epochs, min_size=2))
def test_each_node_keeps_its_samples_every_epoch(
    algo: str, sizes: list[int], ncn: int, seed: int, epochs: list[int]
) -> None:
    if _is_refused(algo, sizes, ncn, 64):
        return
    first, *others = (_node_sets(_shuffle(algo, sizes, ncn, seed, e, 64), ncn) for e in epochs)
    for sets in others:
        assert sets == first


@PROPERTY
@given(
    sizes=shard_sizes,
    ncn=st.integers(1, 16),
    seed=seeds,
    epoch=epochs,
    blocks=st.lists(st.integers(2, 5000), min_size=3, max_size=3),
)
def test_py1s_py1br_py1e_give_nodes_the_same_samples(
    sizes: list[int], ncn: int, seed: int, epoch: int, blocks: list[int]
) -> None:
    """They share the run's shard layout and its cut, whatever the epoch and block size."""
    if sum(sizes) < ncn:
        return
    sets = [
        _node_sets(_shuffle(algo, sizes, ncn, seed, epoch, block), ncn)
        for algo, block in zip(["py1s", "py1br", "py1e"], blocks, strict=True)
    ]
    assert sets[0] == sets[1] == sets[2]


@pytest.mark.parametrize("algo", sorted(SHUFFLE_ALGOS))
@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(16, 300), min_size=4, max_size=30),
    ncn=st.integers(1, 4),
    seed=seeds,
    epoch=epochs,
    block=st.integers(8, 2000),
)
def test_a_new_epoch_changes_the_order(
    algo: str, sizes: list[int], ncn: int, seed: int, epoch: int, block: int
) -> None:
    this = _shuffle(algo, sizes, ncn, seed, epoch, block)
    assert not np.array_equal(this, _shuffle(algo, sizes, ncn, seed, epoch + 1, block))


@settings(max_examples=40, deadline=None)
@given(sizes=shard_sizes, ncn=st.integers(1, 16), seed=seeds, epoch=epochs, block=block_sizes)
def test_naive_ignores_nodes_and_blocks(
    sizes: list[int], ncn: int, seed: int, epoch: int, block: int
) -> None:
    expected = np.random.default_rng(seed + epoch).permutation(sum(sizes))
    np.testing.assert_array_equal(_shuffle("naive", sizes, ncn, seed, epoch, block), expected)


def _divide_spans_loop(sizes: list[int], num_parts: int) -> tuple[list[int], list[int]]:
    """The peer's `divide_spans`, restated as a plain loop: the oracle for ours."""
    total = sum(sizes)
    pieces, bounds, index, done, left = [], [0], 0, 0, list(sizes)
    for part in range(num_parts):
        end = total * (part + 1) // num_parts
        while index < len(left):
            if end < done + left[index]:
                if done < end:
                    pieces.append(end - done)
                    left[index] -= end - done
                    done = end
                break
            pieces.append(left[index])
            done += left[index]
            index += 1
        bounds.append(len(pieces))
    return pieces, bounds


def test_divide_spans_example() -> None:
    pieces, bounds = divide_spans(np.array([5, 0, 3, 4, 6, 0]), 3)
    assert pieces.tolist() == [5, 0, 1, 2, 4, 6, 0]
    assert bounds.tolist() == [0, 3, 5, 7]


@settings(max_examples=300, deadline=None)
@given(sizes=shard_sizes, num_parts=st.integers(1, 40))
def test_divide_spans_matches_the_loop(sizes: list[int], num_parts: int) -> None:
    pieces, bounds = divide_spans(np.array(sizes, dtype=np.int64), num_parts)
    assert (pieces.tolist(), bounds.tolist()) == _divide_spans_loop(sizes, num_parts)
    total = sum(sizes)
    for part in range(num_parts):  # each part holds its share of the samples
        share = total * (part + 1) // num_parts - total * part // num_parts
        assert pieces[bounds[part] : bounds[part + 1]].sum() == share


@pytest.mark.parametrize(
    ("algo", "sizes", "ncn", "block", "match"),
    [
        ("py1s", [4, -1], 1, 8, r"shard_sizes\[1\] is -1"),
        ("py2s", [[4, 2]], 1, 8, "1-D"),
        ("py1s", [4.5], 1, 8, "integers"),
        ("py1s", [4, 2], 0, 8, "num_canonical_nodes"),
        ("py1br", [4, 2], 1, 1, "block_size"),
        ("py1e", [4, 2], 1, 0, "block_size"),
        ("py1e", [2, 0, 1], 4, 8, "canonical nodes"),
    ],
)
def test_refused_settings(algo: str, sizes: list, ncn: int, block: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        get_shuffle(algo, np.array(sizes), ncn, 0, 0, block)


def test_negative_seed_is_refused() -> None:
    with pytest.raises(ValueError, match="seed"):
        get_shuffle("py1s", np.array([4, 2]), 1, -3, 1)


def test_py1e_warns_when_a_shard_outgrows_the_block() -> None:
    with pytest.warns(UserWarning, match="block_size 8"):
        get_shuffle("py1e", np.array([100, 100]), 1, 0, 0, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_shuffle("py1e", np.array([100, 100]), 1, 0, 0, 1000)


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 3000), min_size=1, max_size=40),
    dtype=st.sampled_from(["int8", "int16", "int32", "int64", "uint32"]),
    chunk=st.sampled_from([1, 7, 1000, 1 << 16]),
    seed=st.integers(0, 2**32),
    buffered=st.booleans(),
    compiled=st.booleans(),
)
def test_shuffle_segments_py1e_as_numpy_per_segment(
    sizes: list[int], dtype: str, chunk: int, seed: int, buffered: bool, compiled: bool
) -> None:
    """In C (int32 and int64 in place, other dtypes through numpy) or on numpy (through the
    int64 buffer, any chunk, segments larger than it, or in place), from a generator with or
    without half a 32-bit draw waiting: the same result and the same generator state as
    ``rng.shuffle`` of each segment in turn."""
    from unittest import mock

    from streaming.ordering.shuffle import draws, spans

    values = np.arange(sum(sizes)) % np.iinfo(dtype).max
    ours, expected = values.astype(dtype), values.astype(dtype)
    rng, reference = np.random.default_rng(seed), np.random.default_rng(seed)
    if buffered:
        rng.integers(0, 7), reference.integers(0, 7)
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(draws, "SHUFFLE_CHUNK", chunk))
        if not compiled:
            stack.enter_context(mock.patch.object(draws, "_py1e", None))
        spans.shuffle_segments(rng, ours, sizes)
    offset = 0
    for size in sizes:
        reference.shuffle(expected[offset : offset + size])
        offset += size
    np.testing.assert_array_equal(ours, expected)
    assert rng.bit_generator.state == reference.bit_generator.state


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 5000), min_size=0, max_size=30),
    window=st.sampled_from([(20, 60), (5, 6), (196_608, 327_680), (0, 2**31)]),
    seed=st.integers(0, 2**32),
    buffered=st.booleans(),
    compiled=st.booleans(),
)
def test_skipped_py1e_leave_the_generator_where_the_real_ones_do(
    sizes: list[int], window: tuple[int, int], seed: int, buffered: bool, compiled: bool
) -> None:
    """`skip_shuffles` and `skip_positions`, in C or on numpy: the generator state of py1e's
    real shuffles and position draws, and the same `clipped`."""
    from unittest import mock

    from streaming.ordering.shuffle import draws
    from streaming.ordering.shuffle.py1e import draw_positions

    array = np.array(sizes, dtype=np.int64)
    real, skipped = np.random.default_rng(seed), np.random.default_rng(seed)
    if buffered:
        real.integers(0, 7), skipped.integers(0, 7)
    draws.shuffle_segments(real, np.zeros(int(array.sum()), np.int64), array)
    _, clipped = draw_positions(real, sizes, *window)
    with ExitStack() as stack:
        if not compiled:
            stack.enter_context(mock.patch.object(draws, "_py1e", None))
        draws.skip_shuffles(skipped, array)
        assert draws.skip_positions(skipped, array, *window) == clipped
    assert skipped.bit_generator.state == real.bit_generator.state


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 3000), min_size=0, max_size=30),
    window=st.sampled_from([(20, 60), (5, 6), (1000, 3000), (196_608, 327_680), (0, 2**31)]),
    before=st.integers(0, 5000),
    after=st.integers(0, 5000),
    seed=st.integers(0, 2**32),
    buffered=st.booleans(),
    compiled=st.booleans(),
)
def test_span_positions_are_the_peers_sums(
    sizes: list[int],
    window: tuple[int, int],
    before: int,
    after: int,
    seed: int,
    buffered: bool,
    compiled: bool,
) -> None:
    """`draw_span_positions`, in C or on numpy, for spans anywhere in a node (`before` samples
    before them, `after` after): bit for bit the peer's ``arange`` plus each span's
    ``uniform``, the same `clipped`, and the generator where the peer's draws leave it."""
    from unittest import mock

    from streaming.ordering.shuffle import draws

    low, high = window
    total = sum(sizes)
    length = before + total + after
    rng, reference = np.random.default_rng(seed), np.random.default_rng(seed)
    if buffered:
        rng.integers(0, 7), reference.integers(0, 7)
    expected = np.arange(before, before + total, dtype=np.float64)
    clipped, offset = False, before
    for size in sizes:  # the peer's loop
        cutoff = (int(reference.integers(low, high)) - size) / 2
        if cutoff < 0:
            cutoff, clipped = 0, True
        lower, upper = max(-cutoff, -offset), min(cutoff, length - offset - size)
        expected[offset - before : offset - before + size] += reference.uniform(lower, upper, size)
        offset += size
    out = np.full(total + 3, -7.0)
    with ExitStack() as stack:
        if not compiled:
            stack.enter_context(mock.patch.object(draws, "_py1e", None))
        assert draws.draw_span_positions(rng, sizes, low, high, out, before, length) == clipped
    np.testing.assert_array_equal(out[:total].view(np.int64), expected.view(np.int64))
    assert (out[total:] == -7.0).all()
    assert rng.bit_generator.state == reference.bit_generator.state


def test_span_positions_refuse_spans_outside_the_node() -> None:
    from streaming.ordering.shuffle import draws

    with pytest.raises(ValueError, match="spans inside the node"):
        draws._call(np.random.default_rng(0), draws._py1e.draw_positions,
                    np.array([10], np.int64), 5, 12, 20, 60, np.empty(10))  # fmt: skip
    with pytest.raises(ValueError, match="float64 output"):
        draws._call(np.random.default_rng(0), draws._py1e.draw_positions,
                    np.array([10], np.int64), 0, 10, 20, 60, np.empty(9))  # fmt: skip


def test_the_c_py1e_are_built() -> None:
    """The project's install builds the C draws (`make setup`); without them every order is
    still exact, only slower, so their absence would go unnoticed but for this test."""
    from streaming.ordering.shuffle import draws

    assert draws.compiled()
