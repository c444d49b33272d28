"""Our shuffles against mosaicml-streaming 0.13.0's `get_shuffle`, bit for bit.

One peer process computes the order for a few hundred random settings (every algorithm; shard
sizes with zeros, tiny and large shards; 1 to 16 canonical nodes; seeds up to 2**31; epochs 0 to
5; block sizes from 1 to 2**20); we check that ours is the same array, and that where the peer
raises or warns, so do we.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from streaming.ordering.shuffle import SHUFFLE_ALGOS, get_shuffle, position_sort
from tests.peers.runner import run_peer

pytestmark = pytest.mark.peer

SCRIPT = Path(__file__).resolve().parents[1] / "peers" / "scripts" / "shuffle_peer.py"
NUM_CASES = 400
BLOCK_SIZES = [1, 2, 3, 4, 5, 8, 13, 64, 300, 1000, 4096, 1 << 18]


def _shard_sizes(rng: np.random.Generator) -> list[int]:
    """Shard sizes of one of four shapes: tiny, small, many shards, or large shards."""
    shape = rng.choice(["tiny", "small", "many", "large"], p=[0.15, 0.4, 0.2, 0.25])
    if shape == "tiny":  # often fewer samples than canonical nodes
        sizes = rng.integers(0, 6, rng.integers(0, 7))
    elif shape == "small":
        sizes = rng.integers(0, 101, rng.integers(1, 51))
    elif shape == "many":
        sizes = rng.integers(0, 51, rng.integers(100, 2001))
    else:
        sizes = rng.integers(0, 100_001, rng.integers(1, 21))
    sizes[rng.random(len(sizes)) < 0.2] = 0
    return sizes.tolist()


def _cases(num_cases: int) -> list[dict]:
    rng = np.random.default_rng(20240613)
    algos = sorted(SHUFFLE_ALGOS)
    cases = []
    for i in range(num_cases):
        sizes = _shard_sizes(rng)
        if rng.random() < 0.15:
            block_size = int(rng.integers(2, 1 << 20))
        else:
            block_size = int(rng.choice(BLOCK_SIZES))
        # At most ~20k blocks a case, so the peer's per-block Python loop stays fast.
        block_size = max(block_size, sum(sizes) // 20_000)
        cases.append(
            {
                "algo": algos[i % len(algos)],
                "shard_sizes": sizes,
                "num_canonical_nodes": int(rng.integers(1, 17)),
                "seed": int(rng.integers(0, 1 << 31, endpoint=True)),
                "epoch": int(rng.integers(0, 6)),
                "block_size": block_size,
            }
        )
    return cases


@pytest.fixture(scope="module")
def peer_orders(mosaic_python: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    tmp_path = tmp_path_factory.mktemp("peer_shuffle")
    cases = _cases(NUM_CASES)
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    out = tmp_path / "orders.npz"
    run_peer(mosaic_python, SCRIPT.read_text(), str(tmp_path / "cases.json"), str(out))
    with np.load(out) as npz:
        report = json.loads(str(npz["report"]))
        orders = [npz.get(f"order_{i}") for i in range(len(cases))]
    return cases, report, orders


def test_cases_cover_the_settings(peer_orders: tuple) -> None:
    cases, report, _ = peer_orders
    assert {case["algo"] for case in cases} == set(SHUFFLE_ALGOS)
    assert any(0 in case["shard_sizes"] for case in cases)
    assert any(max(case["shard_sizes"], default=0) > 50_000 for case in cases)
    assert any(sum(case["shard_sizes"]) < case["num_canonical_nodes"] for case in cases)
    assert any(entry["error"] for entry in report)  # some settings the peer refuses...
    assert sum(entry["error"] is None for entry in report) > 0.8 * len(cases)  # ...but few


def test_same_order_as_peer(peer_orders: tuple) -> None:
    cases, report, orders = peer_orders
    for case, entry, expected in zip(cases, report, orders, strict=True):
        args = dict(case, shard_sizes=np.array(case["shard_sizes"], dtype=np.int64))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if entry["error"] is not None:
                assert entry["error"] == "ValueError", case
                with pytest.raises(ValueError):
                    get_shuffle(**args)
                continue
            ours = get_shuffle(**args)
        assert ours.dtype == np.int64
        np.testing.assert_array_equal(ours, expected, err_msg=json.dumps(case)[:300])
        assert bool(caught) == entry["warned"], case


def test_same_order_as_peer_through_the_windowed_sort(
    peer_orders: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    """py1e's cases again with small windows (16 samples, 512 over 20k samples) and no minimum
    size: the windowed sort, not ``np.argsort``, orders every node it can (`position_sort`),
    and must give the same order."""
    monkeypatch.setattr(position_sort, "MIN_SIZE", 0)
    windowed = []
    monkeypatch.setattr(position_sort, "_Sweep", _counting_sweep(windowed))
    cases, report, orders = peer_orders
    for case, entry, expected in zip(cases, report, orders, strict=True):
        if case["algo"] != "py1e" or entry["error"] is not None:
            continue
        args = dict(case, shard_sizes=np.array(case["shard_sizes"], dtype=np.int64))
        monkeypatch.setattr(position_sort, "WINDOW_BITS", 4 if len(expected) < 20_000 else 9)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = get_shuffle(**args)
        np.testing.assert_array_equal(ours, expected, err_msg=json.dumps(case)[:300])
    assert len(windowed) > 50


LARGE_CASES = [  # over position_sort.MIN_SIZE samples a node: the default windows
    {"shard_sizes": [1000] * 2300, "num_canonical_nodes": 1, "seed": 123, "epoch": 2},
    {"shard_sizes": "random", "num_canonical_nodes": 2, "seed": 2**31, "epoch": 0},
]


@pytest.fixture(scope="module")
def peer_large(mosaic_python: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    tmp_path = tmp_path_factory.mktemp("peer_shuffle_large")
    random_sizes = np.random.default_rng(7).integers(500, 3001, 3000)
    random_sizes[::97] = 0
    cases = [dict(case, algo="py1e", block_size=1 << 19) for case in LARGE_CASES]
    for case in cases:
        if case["shard_sizes"] == "random":
            case["shard_sizes"] = random_sizes.tolist()
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    out = tmp_path / "orders.npz"
    run_peer(mosaic_python, SCRIPT.read_text(), str(tmp_path / "cases.json"), str(out))
    with np.load(out) as npz:
        return cases, [npz[f"order_{i}"] for i in range(len(cases))]


def test_same_order_as_peer_for_millions_of_samples(
    peer_large: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    windowed = []
    monkeypatch.setattr(position_sort, "_Sweep", _counting_sweep(windowed))
    for case, expected in zip(*peer_large, strict=True):
        args = dict(case, shard_sizes=np.array(case["shard_sizes"], dtype=np.int64))
        np.testing.assert_array_equal(get_shuffle(**args), expected, err_msg=str(case["seed"]))
    assert len(windowed) == 3  # one node, then two


def _counting_sweep(made: list) -> type:
    class CountingSweep(position_sort._Sweep):
        def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
            made.append(self)
            super().__init__(*args, **kwargs)

    return CountingSweep
