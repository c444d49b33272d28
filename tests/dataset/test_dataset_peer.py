"""Our StreamingDataset yields the same samples in the same order as mosaicml-streaming 0.13.0's,
epoch after epoch, with and without DataLoader workers, and resumes from the peer's states.

Two peer processes run all cases (tests/peers/scripts/dataset_peer.py forks one child per case):
the first plays every configuration and records mid-epoch loader states; the second resumes from
those peer-produced states. Each case's ``id`` sequence per epoch, ``len`` and end-of-epoch
states must match ours exactly.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from tests.dataset._support import run_case, write_ids
from tests.peers.runner import run_peer

pytestmark = [
    pytest.mark.peer,
    # stratified/per-stream cases drop unfilled batches, and say so (as the peer does)
    pytest.mark.filterwarnings("ignore::streaming.ordering.BatchingWarning"),
    # the no-batch-size case: the peer raises, ours warns and plays a batch of 1
    pytest.mark.filterwarnings("ignore:StreamingDataset was built without `batch_size`"),
]

SCRIPT = Path(__file__).resolve().parents[1] / "peers" / "scripts" / "dataset_peer.py"


def _cases(a: str, b: str) -> list[dict[str, Any]]:
    one = {"local": a}
    cases: list[dict[str, Any]] = []

    def add(name: str, kwargs: dict, streams: list | None = None, **extra: Any) -> None:
        case = {"name": name, "kwargs": kwargs, "streams": streams, "epochs": 2}
        case.update(extra)
        cases.append(case)

    add("sequential", {**one, "batch_size": 4})
    add("py1e", {**one, "batch_size": 4, "shuffle": True})
    add("py1e-block", {**one, "batch_size": 5, "shuffle": True, "shuffle_block_size": 40})
    add("py1s", {**one, "batch_size": 3, "shuffle": True, "shuffle_algo": "py1s"})
    add(
        "py1br",
        {
            **one,
            "batch_size": 5,
            "shuffle": True,
            "shuffle_algo": "py1br",
            "shuffle_seed": 7,
            "shuffle_block_size": 50,
        },
    )
    add("naive", {**one, "batch_size": 8, "shuffle": True, "shuffle_algo": "naive"})
    add(
        "py2s-ncn4",
        {**one, "batch_size": 4, "shuffle": True, "shuffle_algo": "py2s", "num_canonical_nodes": 4},
    )
    add("orig-ncn3", {**one, "batch_size": 7, "partition_algo": "orig", "num_canonical_nodes": 3})
    add("epoch-size", {**one, "batch_size": 4, "shuffle": True, "epoch_size": "450"})
    ab = [{"local": a}, {"local": b}]
    add(
        "proportion",
        {"batch_size": 4, "shuffle": True, "epoch_size": 250},
        [{"local": a, "proportion": 0.7}, {"local": b, "proportion": 0.3}],
    )
    add(
        "repeat-fixed",
        {"batch_size": 6, "shuffle": True, "sampling_method": "fixed"},
        [{"local": a, "repeat": 1.5}, {"local": b, "repeat": 0.5}],
    )
    add(
        "choose-orig",
        {"batch_size": 4, "partition_algo": "orig"},
        [{"local": a, "choose": 100}, {"local": b, "choose": 200}],
    )
    add(
        "stratified",
        {"batch_size": 8, "shuffle": True, "batching_method": "stratified", "epoch_size": 400},
        ab,
    )
    add("per-stream", {"batch_size": 4, "shuffle": True, "batching_method": "per_stream"}, ab)
    add(
        "device-per-stream",
        {"batch_size": 4, "shuffle": True, "batching_method": "device_per_stream"},
        ab,
    )
    add(
        "granularity",
        {"batch_size": 4, "shuffle": True, "sampling_granularity": 5},
        [{"local": a, "repeat": 0.6}, {"local": b, "repeat": 1.3}],
    )
    add("no-batch-size", {**one})
    add("bad-method", {**one, "batch_size": 4, "batching_method": "nope"})
    # DataLoader workers: the order survives the workers' round-robin; epochs advance.
    add("loader-w2", {**one, "batch_size": 4, "shuffle": True}, num_workers=2, stop_after=5)
    add(
        "loader-w2-mix",
        {"batch_size": 6, "shuffle": True, "epoch_size": 320},
        [{"local": a, "proportion": 2}, {"local": b, "proportion": 1}],
        num_workers=2,
        stop_after=11,
        persistent=True,
    )
    add(
        "loader-w0",
        {**one, "batch_size": 8, "shuffle": True, "shuffle_algo": "py1br"},
        num_workers=0,
        stop_after=9,
    )
    # Random settings (fixed seed), plain iteration, two epochs each.
    rng = random.Random(20261126)
    for i in range(12):
        weights = rng.choice(
            [
                None,
                [{"proportion": rng.uniform(0.1, 3)}, {"proportion": rng.uniform(0.1, 3)}],
                [{"repeat": rng.uniform(0, 2.5)}, {"choose": rng.randrange(1, 400)}],
            ]
        )
        kwargs = {
            "batch_size": rng.randrange(1, 12),
            "shuffle": rng.random() < 0.8,
            "shuffle_algo": rng.choice(["naive", "py1br", "py1e", "py1s", "py2s"]),
            "shuffle_seed": rng.randrange(10_000),
            "shuffle_block_size": rng.choice([None, rng.randrange(10, 200)]),
            "num_canonical_nodes": rng.choice([None, rng.randrange(1, 9)]),
            "partition_algo": rng.choice(["orig", "relaxed"]),
            "sampling_method": rng.choice(["balanced", "fixed"]),
            "sampling_granularity": rng.choice([1, 1, 3]),
        }
        if weights is None:
            add(f"random-{i}", {**kwargs, **one})
            continue
        if "proportion" in weights[0]:
            kwargs["epoch_size"] = rng.randrange(50, 700)
        add(f"random-{i}", kwargs, [{"local": a, **weights[0]}, {"local": b, **weights[1]}])
    # Two ranks of one node, run at once (the peer joins a gloo process group).
    add("ranks2", {**one, "batch_size": 4, "shuffle": True}, world_size=2)
    add(
        "ranks2-replication",
        {**one, "batch_size": 4, "shuffle": True, "replication": 2},
        world_size=2,
    )
    add(
        "ranks2-loader-w2",
        {"batch_size": 5, "shuffle": True, "shuffle_algo": "py1s"},
        [{"local": a, "choose": 200}, {"local": b, "repeat": 2}],
        world_size=2,
        num_workers=2,
        stop_after=4,
    )
    return cases


def _resume_cases(cases: list[dict], peer: list[dict]) -> list[dict[str, Any]]:
    """Resume each loader case from the peer's mid-epoch state, plus hand-written states."""
    out = []
    for case, result in zip(cases, peer, strict=True):
        if "ranks" in result:
            result = result["ranks"][0]
        if result.get("mid_state"):
            out.append(
                {
                    **case,
                    "name": case["name"] + "-resume",
                    "load_state": result["mid_state"],
                    "stop_after": None,
                }
            )
            out.append(
                {
                    **case,
                    "name": case["name"] + "-resume-plain",
                    "num_workers": None,
                    "load_state": result["mid_state"],
                }
            )
    base = cases[1]  # py1e
    for state in (
        {
            "epoch": 1,
            "sample_in_epoch": 37,
            "num_canonical_nodes": 2,
            "shuffle_seed": 5,
            "initial_physical_nodes": 1,
        },
        {
            "epoch": 0,
            "sample_in_epoch": 300,
            "num_canonical_nodes": 1,
            "shuffle_seed": 9176,
            "initial_physical_nodes": 1,
        },
        {
            "epoch": 3,
            "sample_in_epoch": 0,
            "num_canonical_nodes": 1,
            "shuffle_seed": 9176,
            "initial_physical_nodes": None,
        },
    ):
        out.append(
            {
                **base,
                "name": f"state-{state['epoch']}-{state['sample_in_epoch']}",
                "load_state": state,
            }
        )
    return out


def _peer(mosaic_python: Path, tmp: Path, cases: list[dict], tag: str) -> list[dict]:
    (tmp / f"{tag}.json").write_text(json.dumps(cases))
    run_peer(
        mosaic_python, SCRIPT.read_text(), str(tmp / f"{tag}.json"), str(tmp / f"{tag}-out.json")
    )
    return json.loads((tmp / f"{tag}-out.json").read_text())


@pytest.fixture(scope="module")
def runs(mosaic_python: Path, tmp_path_factory: pytest.TempPathFactory) -> list[tuple]:
    tmp = tmp_path_factory.mktemp("dataset_peer")
    a = write_ids(tmp / "a", range(300))
    b = write_ids(tmp / "b", range(1000, 1170), size_limit=500, compression="zstd")
    cases = _cases(a, b)
    peer = _peer(mosaic_python, tmp, cases, "play")
    resume = _resume_cases(cases, peer)
    peer_resume = _peer(mosaic_python, tmp, resume, "resume")
    return list(zip(cases + resume, peer + peer_resume, strict=True))


def _error_type(result: dict) -> str:
    return result["error"].split(":")[0]


def _ours(case: dict) -> list[dict]:
    """Our results per rank: ranks are simulated in this process through the environment."""
    if not case.get("world_size"):
        return [run_case(case)]
    results = []
    with pytest.MonkeyPatch.context() as env:
        for rank in range(case["world_size"]):
            env.setenv("RANK", str(rank))
            env.setenv("WORLD_SIZE", str(case["world_size"]))
            env.setenv("LOCAL_WORLD_SIZE", str(case["world_size"]))
            results.append(run_case(case))
    return results


def _pairs(runs: list[tuple]) -> list[tuple[str, dict, dict]]:
    pairs = []
    for case, peer in runs:
        peer_ranks = peer["ranks"] if "ranks" in peer else [peer]
        for rank, (ours, theirs) in enumerate(zip(_ours(case), peer_ranks, strict=True)):
            pairs.append((f"{case['name']}[rank {rank}]", ours, theirs))
    return pairs


def test_same_samples_same_order(runs: list[tuple]) -> None:
    mismatched = []
    for name, ours, peer in _pairs(runs):
        case = {"name": name}
        if name.startswith("no-batch-size"):  # the peer raises; ours plays a batch of 1
            assert "error" in peer and "error" not in ours, (name, peer, ours)
            continue
        if "error" in peer or "error" in ours:
            assert "error" in peer and "error" in ours, (case["name"], peer, ours)
            continue
        if ours["epochs"] != peer["epochs"] or ours["len"] != peer["len"]:
            mismatched.append(case["name"])
            continue
        assert ours["states"] == peer["states"], case["name"]
        assert ours["mid_state"] == peer["mid_state"], case["name"]
    assert not mismatched, mismatched


def test_cases_are_meaningful(runs: list[tuple]) -> None:
    """Guard the comparison itself: the peer ran almost every case, epochs differ when
    shuffled, and resumed runs are shorter."""
    errors = [case["name"] for case, peer in runs if "error" in json.dumps(peer)]
    assert errors == ["no-batch-size", "bad-method"], errors
    by_name = {case["name"]: peer for case, peer in runs}
    py1e = by_name["py1e"]["epochs"]
    assert py1e[0] != py1e[1] and sorted(py1e[0]) == list(range(300))
    full = by_name["loader-w2"]["epochs"][0]
    resumed = by_name["loader-w2-resume"]["epochs"][0]
    assert resumed == full[len(full) - len(resumed) :] and len(resumed) == 300 - 20
    assert by_name["state-0-300"]["epochs"][0] == []
    rank0, rank1 = (r["epochs"][0] for r in by_name["ranks2"]["ranks"])
    assert sorted(rank0 + rank1) == list(range(300))
    rank0, rank1 = (r["epochs"][0] for r in by_name["ranks2-replication"]["ranks"])
    assert rank0 == rank1
    resumed = by_name["ranks2-loader-w2-resume"]["ranks"][0]["epochs"][0]
    full = by_name["ranks2-loader-w2"]["ranks"][0]["epochs"][0]
    assert resumed == full[20:]  # 4 batches of 5 per rank: state sample_in_epoch 40


def test_state_with_none_values(runs: list[tuple]) -> None:
    """A state holding None for num_canonical_nodes (which the peer rejects with RuntimeError)
    resumes with the default, as the equivalent state with the default does in the peer."""
    case, peer = next((c, p) for c, p in runs if c["name"] == "state-3-0")
    state = {**case["load_state"], "num_canonical_nodes": None}
    ours = run_case({**case, "load_state": state})
    assert ours["epochs"] == peer["epochs"]
