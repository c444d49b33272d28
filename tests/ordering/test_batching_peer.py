"""Our stream weighting, resampling and batching against mosaicml-streaming 0.13.0's, exactly.

One peer process (tests/peers/scripts/batching_peer.py) runs a few hundred random datasets of 1
to 4 streams: weighted by proportion, repeat, choose, none, or mixed (and some invalid weights),
with or without ``epoch_size``; both sampling methods, sampling granularity 1 to 7; every
batching method; several topologies (with ``relaxed`` re-cuts and ``replication``), batch sizes,
canonical node counts and shuffle algorithms, shuffle on and off; several epochs and resume
points each. For each we must give the same weights, the same ``resample_streams`` arrays, the
same work array and as many warnings, or raise an exception of the peer's type.
"""

from __future__ import annotations

import builtins
import json
import random
import warnings
from pathlib import Path

import numpy as np
import pytest

from streaming.ordering.batching import BATCHING_METHODS, OrderingSettings, Topology, generate_work
from streaming.ordering.mixing import StreamWeight, resample_streams, weigh_streams
from streaming.ordering.shuffle import SHUFFLE_ALGOS
from tests.peers.runner import run_peer

pytestmark = pytest.mark.peer

SCRIPT = Path(__file__).resolve().parents[1] / "peers" / "scripts" / "batching_peer.py"
NUM_CASES = 400


def _shard_sizes(rng: random.Random) -> list[list[int]]:
    streams = []
    for _ in range(rng.choice([1, 1, 2, 2, 3, 4])):
        sizes = [rng.randint(1, rng.choice([5, 30, 80])) for _ in range(rng.randint(1, 8))]
        if rng.random() < 0.08:  # an empty shard (the peer mis-sizes a neighbouring pick)
            sizes.insert(rng.randint(0, len(sizes)), 0)
        streams.append(sizes)
    return streams


def _weights(rng: random.Random, shard_sizes: list[list[int]]) -> tuple[list[dict], object]:
    """Per-stream weights and an epoch size; about one case in twelve is invalid."""
    n = len(shard_sizes)
    total = sum(map(sum, shard_sizes))
    kind = rng.choice(["proportion"] * 4 + ["repeat", "choose", "mixed", "none", "none", "bad"])
    epoch_size = None
    if kind == "proportion":
        weights = [
            {"proportion": rng.choice([rng.random(), rng.random(), 1.0, 0.5, 0.0])}
            for _ in range(n)
        ]
        if n == 1 or all(w["proportion"] == 0 for w in weights):
            weights[0]["proportion"] = 0.3
        if rng.random() < 0.5:
            epoch_size = rng.choice([rng.randint(1, 3 * total), "1k", str(total)])
    elif kind in ("repeat", "choose", "mixed"):
        weights = []
        for sizes in shard_sizes:
            which = kind if kind != "mixed" else rng.choice(["repeat", "choose", None])
            if which == "repeat":
                weights.append({"repeat": rng.choice([0.5, 1, 2, 2.5, rng.uniform(0.1, 3)])})
            elif which == "choose":
                weights.append({"choose": rng.randint(1, 3 * sum(sizes) + 1)})
            else:
                weights.append({})
    elif kind == "none":
        weights = [{} for _ in range(n)]
        if rng.random() < 0.6:
            epoch_size = rng.randint(1, 3 * total)
    else:
        weights = [{"proportion": 0.5} for _ in range(n)]
        broken = rng.randrange(n)
        weights[broken] = rng.choice(
            [
                {"proportion": 0.5, "repeat": 2.0},
                {"repeat": -1.0},
                {"choose": -3},
                {"proportion": -0.5},
                {"choose": 5} if n > 1 else {"repeat": 1.0, "choose": 2},
                {},
            ]
        )
        if rng.random() < 0.3:
            weights = [{"repeat": 1.0} for _ in range(n)]
            epoch_size = rng.choice([10, -5])
    return weights, epoch_size


def _case(rng: random.Random) -> dict:
    shard_sizes = _shard_sizes(rng)
    weights, epoch_size = _weights(rng, shard_sizes)
    nodes, ranks, workers = rng.choice([1, 1, 2, 4]), rng.choice([1, 2, 3, 4]), rng.randint(1, 3)
    batching_method = rng.choice(sorted(BATCHING_METHODS))
    ncn = nodes * rng.choice([1, 1, 2, 4]) if rng.random() < 0.8 else rng.choice([1, 2, 3, 8])
    batch_size = rng.choice([1, 2, 3, 4, 8])
    initial = None
    algo = rng.choice(["relaxed", "relaxed", "orig"])
    if algo == "relaxed" and rng.random() < 0.2:  # resumed on another node count
        initial = rng.choice([1, 2, 4])
        if ncn % initial == 0 and (initial * ranks * batch_size) % (nodes * ranks) == 0:
            batch_size = initial * batch_size // nodes or batch_size
    replication = None
    if rng.random() < 0.1 and (nodes * ranks) % 2 == 0:
        replication = 2
    shuffle = rng.random() < 0.7
    block = rng.choice([None, 3, 16, 50, 200, 1000]) if shuffle else rng.choice([None, 100])
    epochs = [[0, 0]]
    for _ in range(rng.randint(1, 3)):
        epoch = rng.randint(0, 6)
        gbs = nodes * ranks * batch_size
        resume = rng.choice([0, rng.randint(0, 400), gbs * rng.randint(0, 20)] * 3 + [10**6])
        epochs.append([epoch, resume])
    return {
        "shard_sizes": shard_sizes,
        "weights": weights,
        "epoch_size": epoch_size,
        "seed": rng.choice([0, 9176, rng.randint(0, 2**31)]),
        "sampling_method": rng.choice(["balanced", "fixed"]),
        "sampling_granularity": rng.choice([1, 1, 2, 3, 7]),
        "partition_algo": algo,
        "num_canonical_nodes": ncn,
        "batch_size": batch_size,
        "shuffle": shuffle,
        "shuffle_algo": rng.choice(sorted(SHUFFLE_ALGOS)),
        "shuffle_block_size": block,
        "initial_physical_nodes": initial,
        "batching_method": batching_method,
        "replication": replication,
        "topology": [nodes, ranks, workers],
        "epochs": epochs,
    }


@pytest.fixture(scope="module")
def peer(mosaic_python: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    tmp_path = tmp_path_factory.mktemp("peer_batching")
    rng = random.Random(20240614)
    cases = [_case(rng) for _ in range(NUM_CASES)]
    for i, method in enumerate(sorted(BATCHING_METHODS)):  # large shards: other choice() paths
        case = _case(rng)
        case.update(
            shard_sizes=[[20_000, 15_011], [12_345]],
            weights=[{"repeat": 1.3}, {"choose": 100 + 997 * i}],
            epoch_size=None,
            batching_method=method,
            shuffle_algo=["naive", "py1s", "py2s", "py1e"][i],
            shuffle_block_size=None,
            batch_size=8,
            replication=None,
            num_canonical_nodes=case["topology"][0],
            initial_physical_nodes=None,
            epochs=[[0, 0], [2, 8 * 37]],
        )
        cases.append(case)
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    npz, report = tmp_path / "peer.npz", tmp_path / "peer.json"
    run_peer(mosaic_python, SCRIPT.read_text(), str(tmp_path / "cases.json"), str(npz), str(report))
    records = json.loads(report.read_text())
    with np.load(npz) as arrays:
        return cases, records, {name: arrays[name] for name in arrays.files}


def _same_error(peer_error: str, ours: BaseException | None) -> bool:
    return ours is not None and isinstance(ours, getattr(builtins, peer_error))


def _ours(case: dict, weights) -> tuple[OrderingSettings, Topology]:
    settings = OrderingSettings.from_weights(
        case["shard_sizes"],
        weights,
        batch_size=case["batch_size"],
        num_canonical_nodes=case["num_canonical_nodes"],
        partition_algo=case["partition_algo"],
        shuffle=case["shuffle"],
        shuffle_algo=case["shuffle_algo"],
        shuffle_seed=case["seed"],
        shuffle_block_size=case["shuffle_block_size"],
        sampling_method=case["sampling_method"],
        sampling_granularity=case["sampling_granularity"],
        initial_physical_nodes=case["initial_physical_nodes"],
    )
    return settings, Topology(*case["topology"])


def _compare_case(i: int, case: dict, record: dict, arrays: dict) -> list[str]:
    streams = [StreamWeight(**w) for w in case["weights"]]
    samples = [sum(sizes) for sizes in case["shard_sizes"]]
    try:
        weights = weigh_streams(samples, streams, case["epoch_size"], case["seed"])
    except Exception as exc:  # compared with the peer's
        if "error" in record and _same_error(record["error"], exc):
            return []
        return [f"weights: peer {record.get('error', 'ok')}, we raised {exc!r}"]
    if "error" in record:
        return [f"weights: peer raised {record['error']}, we did not"]
    expected = record["weights"]
    problems = []
    if (
        weights.choose.tolist() != expected["choose"]
        or weights.epoch_size != (expected["epoch_size"])
    ):
        problems.append(f"choose {weights.choose.tolist()} vs {expected['choose']}")
    for name in ("proportion", "repeat"):
        if not np.array_equal(getattr(weights, name), expected[name], equal_nan=True):
            problems.append(f"{name} {getattr(weights, name)} vs {expected[name]}")

    settings, topology = _ours(case, weights)
    if list(vars(topology.replicate(case["replication"])).values()) != record["replicated"]:
        problems.append("replicated topology")
    for j, ((epoch, sample_in_epoch), peer_epoch) in enumerate(
        zip(case["epochs"], record["epochs"], strict=True)
    ):
        key = f"{i}_{j}"
        where = f"epoch {epoch} sample {sample_in_epoch}"
        try:
            units, ids = resample_streams(
                settings.shard_sizes,
                settings.choose,
                seed=settings.shuffle_seed,
                epoch=epoch,
                sampling_method=settings.sampling_method,
                sampling_granularity=settings.sampling_granularity,
                shuffle=settings.shuffle,
            )
        except ValueError:
            if f"s{key}" in arrays:
                problems.append(f"{where}: resample raised, the peer's did not")
        else:
            if not (
                np.array_equal(units, arrays.get(f"u{key}"))
                and np.array_equal(ids, arrays.get(f"s{key}"))
            ):
                problems.append(f"{where}: resample_streams differs")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                work, error = (
                    generate_work(
                        case["batching_method"],
                        settings,
                        topology,
                        epoch,
                        sample_in_epoch,
                        replication=case["replication"],
                    ),
                    None,
                )
            except Exception as exc:  # compared with the peer's
                work, error = None, exc
        if "error" in peer_epoch:
            if not _same_error(peer_epoch["error"], error):
                problems.append(f"{where}: peer raised {peer_epoch['error']}, we gave {error!r}")
            continue
        if error is not None:
            problems.append(f"{where}: we raised {error!r}; peer gave {peer_epoch['shape']}")
            continue
        # catch_warnings is process-wide: a thread a library left running (a DataLoader's
        # pin-memory thread, py4j...) may warn meanwhile; only our code's warnings count.
        ours_warned = sum(
            not issubclass(w.category, RuntimeWarning)
            and "site-packages" not in w.filename
            and not (case["replication"] and "replication" in str(w.message))
            for w in caught
        )
        if list(work.shape) != peer_epoch["shape"] or work.dtype != np.int64:
            problems.append(f"{where}: shape {work.shape} vs {peer_epoch['shape']}")
        elif not np.array_equal(work, arrays[f"w{key}"]):
            problems.append(f"{where}: different sample IDs")
        elif ours_warned != peer_epoch["warnings"]:
            problems.append(f"{where}: {ours_warned} warnings vs {peer_epoch['warnings']}")
    return problems


def test_cases_cover_the_settings(peer: tuple) -> None:
    cases, records, _ = peer
    ok = [(c, r) for c, r in zip(cases, records, strict=True) if "error" not in r]
    assert {r["error"] for r in records if "error" in r} >= {"ValueError"}
    assert len(ok) > 0.85 * len(cases)
    epochs = [(c, e) for c, r in ok for e in r["epochs"]]
    worked = [(c, e) for c, e in epochs if "error" not in e]
    assert len(worked) > 0.6 * len(epochs)
    for method in BATCHING_METHODS:  # every method produced work, shuffled and not
        for shuffle in (True, False):
            assert any(
                c["batching_method"] == method and c["shuffle"] == shuffle for c, _ in worked
            ), (method, shuffle)
    assert any(e["warnings"] for _, e in worked)
    assert {c["shuffle_algo"] for c, _ in worked if c["shuffle"]} == set(SHUFFLE_ALGOS)
    assert any(c["sampling_granularity"] > 1 for c, _ in worked)
    assert any(c["replication"] for c, _ in worked)
    assert any(c["initial_physical_nodes"] for c, _ in worked)


def test_same_weights_resampling_and_work_as_the_peer(peer: tuple) -> None:
    cases, records, arrays = peer
    mismatches = []
    for i, (case, record) in enumerate(zip(cases, records, strict=True)):
        for problem in _compare_case(i, case, record, arrays):
            mismatches.append((i, case["batching_method"], problem))
    assert not mismatches, f"{len(mismatches)} mismatches, e.g. {mismatches[:6]}"
