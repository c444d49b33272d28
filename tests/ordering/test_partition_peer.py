"""Our partitions against mosaicml-streaming 0.13.0's get_partitions, array for array.

One peer process (tests/peers/scripts/partition_peer.py) partitions a few hundred random settings:
tiny to mid-sized datasets, node counts that fit ``num_canonical_nodes`` and some that do not,
resumptions, re-cuts by ``relaxed``, missing batch sizes. For each we must return the same int64
array and issue as many warnings, or raise an exception of the peer's type (ours may be a
subclass with a clearer message).
"""

from __future__ import annotations

import builtins
import json
import random
import warnings
from pathlib import Path

import numpy as np
import pytest

from streaming.ordering.partition import get_partitions
from tests.peers.runner import run_peer

pytestmark = pytest.mark.peer

SCRIPT = Path(__file__).resolve().parents[1] / "peers" / "scripts" / "partition_peer.py"
NUM_CASES = 600


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _case(rng: random.Random) -> list:
    """[algo, num_samples, ncn, nodes, ranks, workers, batch_size, drop_first, initial_nodes]."""
    ncn = rng.randint(1, 32)
    ranks = rng.randint(1, 8)
    workers = rng.randint(1, 8)
    compatible = _divisors(ncn) + [ncn * k for k in (2, 3, 4)]
    num_samples = rng.choice(
        [
            rng.randint(0, ncn),  # tiny: fewer samples than canonical nodes
            rng.randint(ncn, 4 * ncn),
            rng.randint(0, 500),
            rng.randint(0, 5000),
        ]
    )
    batch_size = rng.randint(1, 64) if rng.random() < 0.95 else None
    initial = None
    kind = rng.random()
    if kind < 0.35:  # relaxed re-cut: resumed on a node count NCN does not allow
        algo = "relaxed"
        initial = rng.choice(compatible)
        initial_batch = rng.randint(1, 16)
        size = initial * ranks * initial_batch
        options = [n for n in range(1, 4 * ncn + 2) if n not in compatible]
        fitting = [n for n in options if size % (n * ranks) == 0]
        nodes = rng.choice(fitting or options)
        batch_size = size // (nodes * ranks) if fitting else batch_size
    elif kind < 0.85:
        algo = rng.choice(["orig", "relaxed"])
        nodes = rng.choice(compatible)
        if algo == "relaxed" and rng.random() < 0.5:
            initial = rng.choice(compatible + [rng.randint(1, 40)])
    else:  # anything, mostly refused
        algo = rng.choice(["orig", "relaxed"])
        nodes = rng.randint(1, 70)
        initial = rng.choice([None, rng.randint(1, 70)])
    devices = (nodes if initial is None else max(nodes, initial)) * ranks
    end = num_samples + devices - num_samples % devices
    drop_first = rng.choice(
        [
            0,
            rng.randint(0, max(num_samples, 0)),
            rng.randint(0, end),
            rng.randint(0, 2 * end + 2),  # sometimes past the end
            (rng.randint(0, end) // max(nodes * ranks * (batch_size or 1), 1))
            * nodes
            * ranks
            * (batch_size or 1),
        ]
    )
    return [algo, num_samples, ncn, nodes, ranks, workers, batch_size, drop_first, initial]


@pytest.fixture(scope="module")
def peer(mosaic_python: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    tmp_path = tmp_path_factory.mktemp("peer_partitions")
    rng = random.Random(20240613)
    cases = [_case(rng) for _ in range(NUM_CASES)]
    cases += [  # the spec's golden settings, and tiny datasets on many nodes
        ["orig", 18, 2, 1, 2, 2, 2, 0, None],
        ["orig", 18, 2, 1, 2, 2, 2, 6, None],
        ["relaxed", 0, 4, 2, 2, 2, 2, 0, None],
        ["relaxed", 3, 8, 16, 4, 2, 2, 0, None],
        ["orig", 5, 1, 8, 1, 1, 1, 0, None],
        ["orig", 9, 1, 8, 1, 1, 1, 0, None],
        ["relaxed", 8, 2, 3, 1, 1, 2, 0, 2],
    ]
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    npz, report = tmp_path / "peer.npz", tmp_path / "peer.json"
    run_peer(
        mosaic_python,
        SCRIPT.read_text(),
        str(tmp_path / "cases.json"),
        str(npz),
        str(report),
    )
    records = json.loads(report.read_text())
    with np.load(npz) as arrays:
        return cases, records, {name: arrays[name] for name in arrays.files}


def _ours(case: list) -> tuple[np.ndarray | None, BaseException | None, int]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            return get_partitions(*case), None, len(caught)
        except Exception as exc:  # compared with what the peer raised
            return None, exc, len(caught)


def test_cases_cover_every_outcome(peer: tuple) -> None:
    cases, records, _ = peer
    outcomes = {record.get("error", "ok") for record in records}
    assert {"ok", "ValueError", "TypeError", "ZeroDivisionError"} <= outcomes
    recuts = [
        c
        for c, r in zip(cases, records, strict=True)
        if "error" not in r and c[8] is not None and max(c[2], c[3]) % min(c[2], c[3])
    ]
    assert len(recuts) >= 50
    assert sum(bool(r["warnings"]) for r in records if "error" not in r) >= 20


def test_same_partitions_as_the_peer(peer: tuple) -> None:
    cases, records, arrays = peer
    mismatches = []
    for i, (case, record) in enumerate(zip(cases, records, strict=True)):
        ours, error, num_warnings = _ours(case)
        if "error" in record:
            expected = getattr(builtins, record["error"])
            if not isinstance(error, expected):
                mismatches.append((case, f"peer raised {record['error']}, we gave {error!r}"))
            continue
        if error is not None:
            mismatches.append((case, f"we raised {error!r}"))
        elif str(ours.dtype) != record["dtype"] or list(ours.shape) != record["shape"]:
            mismatches.append((case, f"shape {ours.shape} {ours.dtype}, peer {record['shape']}"))
        elif not np.array_equal(ours, arrays[f"a{i}"]):
            mismatches.append((case, "different sample IDs"))
        elif num_warnings != len(record["warnings"]):
            mismatches.append((case, f"{num_warnings} warnings, peer {record['warnings']}"))
    assert not mismatches, f"{len(mismatches)} of {len(cases)} differ, e.g. {mismatches[:5]}"
