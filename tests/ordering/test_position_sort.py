"""`sort_by_position` (py1e's sort): exactly ``ids[np.argsort(positions)]``, equal positions
included, whatever the window size; and the fallbacks for positions it cannot window."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streaming.ordering.shuffle import position_sort
from streaming.ordering.shuffle.position_sort import sort_by_position
from streaming.ordering.shuffle.py1e import draw_positions

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _expected(ids: np.ndarray, positions: np.ndarray) -> np.ndarray:
    return ids[np.argsort(positions)]


def _sorted(ids: np.ndarray, positions: np.ndarray, window_bits: int) -> np.ndarray:
    out = ids.copy()
    sort_by_position(out, positions, window_bits=window_bits, min_size=0)
    return out


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts windows sorted and tie repairs, to check which path a case took."""
    calls = {"windows": 0, "ties": 0}
    write, repair = position_sort._Sweep._write, position_sort.order_ties_as_argsort

    def counted_write(self, *args):  # noqa: ANN001, ANN202
        calls["windows"] += 1
        return write(self, *args)

    def counted_repair(*args):  # noqa: ANN002, ANN202
        calls["ties"] += 1
        return repair(*args)

    monkeypatch.setattr(position_sort._Sweep, "_write", counted_write)
    monkeypatch.setattr(position_sort, "order_ties_as_argsort", counted_repair)
    return calls


@st.composite
def jittered(draw: st.DrawFn) -> np.ndarray:
    """Positions ``i + shift`` as py1e makes them, sometimes rounded so that keys or whole
    positions collide, sometimes with copied values (exact ties), clipped to the node."""
    n = draw(st.integers(1, 3000))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    shift = draw(st.sampled_from([0.0, 0.4, 3.0, 40.0, 500.0, 5000.0]))
    positions = np.arange(n, dtype=np.float64) + rng.uniform(-shift, shift, n)
    if draw(st.booleans()):
        np.clip(positions, 0, n - 1, out=positions)  # the ends pile up: ties
    else:
        positions = np.abs(positions)
    step = draw(st.sampled_from([None, 1.0, 0.125, 2.0**-10, 2.0**-30]))
    if step is not None:
        positions = np.floor(positions / step) * step
    copies = draw(st.integers(0, 4))
    if copies:
        source = rng.integers(0, n, copies)
        target = np.clip(source + rng.integers(-30, 30, copies), 0, n - 1)
        positions[target] = positions[source]
    return positions


@PROPERTY
@given(
    positions=jittered(),
    window_bits=st.integers(1, 9),
    id_dtype=st.sampled_from(["<i8", "<i4"]),
    compiled=st.booleans(),
)
def test_same_as_argsort(
    positions: np.ndarray, window_bits: int, id_dtype: str, compiled: bool
) -> None:
    """Windows sorted in C (`_py1e.sort_window`) or by numpy: the same IDs as argsort."""
    from unittest import mock

    ids = np.random.default_rng(len(positions)).permutation(len(positions)).astype(id_dtype)
    with mock.patch.object(position_sort, "_py1e", position_sort._py1e if compiled else None):
        ours = _sorted(ids, positions, window_bits)
    np.testing.assert_array_equal(ours, _expected(ids, positions))


def test_the_c_window_sort_names_a_position_outside_its_window() -> None:
    values = np.array([3.0, 17.5, 4.0])
    ids, out = np.arange(3, dtype=np.int32), np.empty(3, np.int32)
    with pytest.raises(ValueError, match=r"position 17.5 lies outside the window \[0.0, 16.0\)"):
        position_sort._py1e.sort_window(values, ids, out, 0.0, 4)
    with pytest.raises(ValueError, match="float64 values"):
        position_sort._py1e.sort_window(values, ids, np.empty(3, np.int64), 0.0, 4)


@PROPERTY
@given(
    windows=st.lists(st.integers(0, 40), min_size=1, max_size=300),
    below=st.one_of(st.just(-np.inf), st.floats(0, 50)),
    window_bits=st.integers(1, 9),
    id_dtype=st.sampled_from(["<i8", "<i4"]),
)
def test_the_c_split_by_window_is_numpys(
    windows: list[int], below: float, window_bits: int, id_dtype: str
) -> None:
    """`_py1e.split_above` groups a block by window in index order, dropping the samples below
    the bound (counted: what a resume's node does), as the numpy path."""
    width = 1 << window_bits
    rng = np.random.default_rng(len(windows))
    values = (np.array(windows) + rng.uniform(0, 1, len(windows))) * float(width)
    ids = rng.permutation(len(values)).astype(id_dtype)
    results = []
    for compiled in (True, False):
        sweep = position_sort._Sweep(ids, values, window_bits)
        with mock.patch.object(position_sort, "_py1e", position_sort._py1e if compiled else None):
            dropped = sweep.read_above(values, ids, below * width)
        pieces = {w: [(v.tolist(), i.tolist(), i.dtype) for v, i in parts]
                  for w, parts in sweep.waiting.items()}  # fmt: skip
        results.append((dropped, pieces))
    assert results[0] == results[1]
    assert results[0][0] == int(np.count_nonzero(values < below * width))


def test_the_c_split_refuses_nan_and_mismatched_arrays() -> None:
    values, ids = np.array([3.0, np.nan]), np.arange(2, dtype=np.int32)
    with pytest.raises(ValueError, match="a position is NaN"):
        position_sort._py1e.split_above(values, ids, np.empty(2), np.empty(2, np.int32), 0.0, 0.1)
    with pytest.raises(ValueError, match="float64 values"):
        position_sort._py1e.split_above(values, ids, np.empty(2), np.empty(2, np.int64), 0.0, 0.1)
    split = position_sort._py1e
    values, ids = np.array([3.0, 1.0, 5.0]), np.arange(3, dtype=np.int32)
    with pytest.raises(ValueError, match="cannot hold the 2 kept and a slot for the dropped"):
        split.split_above(values, ids, np.empty(2), np.empty(2, np.int32), 2.0, 0.1)
    out = np.empty(3), np.empty(3, np.int32)  # the kept, and one slot for the dropped
    assert split.split_above(values, ids, *out, 2.0, 0.1) == (0, [2])  # one window: [0, 10)
    assert out[0][:2].tolist() == [3.0, 5.0] and out[1][:2].tolist() == [0, 2]


def test_ties_are_ordered_as_argsort_orders_them(spy: dict[str, int]) -> None:
    rng = np.random.default_rng(3)
    positions = np.floor(np.arange(20_000) + rng.uniform(-300, 300, 20_000)).clip(0)  # ties
    ids = rng.permutation(20_000) * 3
    np.testing.assert_array_equal(_sorted(ids, positions, 8), _expected(ids, positions))
    assert spy["windows"] > 50 and spy["ties"] == 1


def test_distinct_positions_need_no_repair(spy: dict[str, int]) -> None:
    rng = np.random.default_rng(4)
    sizes = rng.integers(1, 400, 300).tolist()
    positions, _ = draw_positions(rng, sizes, 3000, 5000)
    ids = np.arange(len(positions)) + 10
    np.testing.assert_array_equal(_sorted(ids, positions, 10), _expected(ids, positions))
    assert spy["windows"] > 20 and spy["ties"] == 0


@pytest.mark.parametrize(
    "positions",
    [
        np.array([]),
        np.array([3.0]),
        np.array([2.0, -1.0, 0.5, 7.0]),  # negative
        np.array([2.0, np.nan, 0.5, 7.0]),
        np.array([2.0, np.inf, 0.5, 7.0]),
        np.array([1e300, 2.0, 0.5]),
        np.arange(5000.0)[::-1].copy(),  # every sample moves about the whole node
    ],
)
def test_positions_it_cannot_window_fall_back_to_argsort(
    positions: np.ndarray, spy: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(position_sort, "MAX_LAG", 16)
    ids = np.arange(len(positions)) * 2
    np.testing.assert_array_equal(_sorted(ids, positions, 4), _expected(ids, positions))
    assert spy["windows"] == 0


def test_small_inputs_use_argsort_directly(spy: dict[str, int]) -> None:
    positions = np.random.default_rng(5).uniform(0, 1000, 1000)
    ids = np.arange(1000)
    sort_by_position(ids, positions)  # default MIN_SIZE
    np.testing.assert_array_equal(ids, np.argsort(positions))
    assert spy["windows"] == 0


def test_a_large_node_at_the_default_settings(spy: dict[str, int]) -> None:
    """Over `MIN_SIZE` samples, with the default window: py1e's shape at 2.2M samples."""
    rng = np.random.default_rng(6)
    sizes = [1000] * 2200
    positions, _ = draw_positions(rng, sizes, 1 << 17, 5 << 16)
    ids = rng.permutation(len(positions))
    expected = _expected(ids, positions)
    sort_by_position(ids, positions)
    np.testing.assert_array_equal(ids, expected)
    assert spy["windows"] > 10
