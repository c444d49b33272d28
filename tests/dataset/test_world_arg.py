"""The dataset's declared contract with the trainers: an explicit ``world=``, side-effect-free
queries (``current_epoch``, ``resolved_settings``, ``state_dict``) and the one formula that turns
per-rank trained samples into ``sample_in_epoch`` (``samples_in_epoch``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streaming import StreamingDataLoader, StreamingDataset
from streaming.state import ResolvedSettings
from streaming.world import World
from tests.dataset._support import write_ids


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_ids(tmp_path_factory.mktemp("world") / "a", range(120))


def ids(ds: StreamingDataset) -> list[int]:
    return [int(s["id"]) for s in ds]


def test_explicit_world_splits_as_the_launchers_variables_do(
    data: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``world=World.of(rank, 4, 2)`` gives rank `rank` of 4 (2 per node) the samples that
    RANK/WORLD_SIZE/LOCAL_WORLD_SIZE give it, and wins over variables saying otherwise."""
    detected, explicit = [], []
    for rank in range(4):
        with monkeypatch.context() as env:
            env.setenv("RANK", str(rank))
            env.setenv("WORLD_SIZE", "4")
            env.setenv("LOCAL_WORLD_SIZE", "2")
            detected.append(ids(StreamingDataset(local=data, batch_size=4, shuffle=True)))
        monkeypatch.setenv("RANK", "0")  # a launcher's leftovers: one process
        monkeypatch.setenv("WORLD_SIZE", "1")
        before = dict(os.environ)
        ds = StreamingDataset(local=data, batch_size=4, shuffle=True, world=World.of(rank, 4, 2))
        assert dict(os.environ) == before  # nothing written to the environment
        assert ds.world == World(num_nodes=2, ranks_per_node=2, workers_per_rank=1, worker=rank)
        assert len(ds) == 30
        assert ds.resolved_settings().num_canonical_nodes == 2  # the nodes of `world`
        explicit.append(ids(ds))
    assert explicit == detected
    assert sorted(sum(explicit, [])) == list(range(120))


def test_world_arguments_are_checked(data: str) -> None:
    with pytest.raises(ValueError, match=r"World.of: rank=4 is outside num_ranks=4"):
        World.of(4, 4, 2)
    with pytest.raises(ValueError, match=r"num_ranks=6 must be a positive multiple of "):
        World.of(0, 6, 4)
    with pytest.raises(ValueError, match=r"`rank` must be an integer, got '1'"):
        World.of("1", 4)  # type: ignore[arg-type]
    assert World.of(3, 4) == World(1, 4, 1, 3)  # default: one node
    with pytest.raises(TypeError, match=r"`world` must be a streaming.world.World .* got tuple"):
        StreamingDataset(local=data, batch_size=4, world=(0, 1, 1))  # type: ignore[arg-type]


def test_queries_change_nothing_and_iteration_adopts(data: str) -> None:
    """``state_dict``, ``current_epoch`` and ``resolved_settings`` only read: the settings are
    adopted when an iteration claims its epoch (the peer's ``state_dict`` assigns them)."""
    ds = StreamingDataset(local=data, batch_size=4, shuffle=True, world=World.of(0, 4, 2))
    assert ds.current_epoch == -1
    resolved = ResolvedSettings(2, 9176, 2_000_000, None)
    assert ds.resolved_settings() == resolved
    state = ds.state_dict(0, True)
    assert state == {"epoch": -1, "sample_in_epoch": 0, "num_canonical_nodes": 2,
                     "shuffle_seed": 9176, "initial_physical_nodes": 2}  # fmt: skip
    assert (ds.num_canonical_nodes, ds.shuffle_block_size) == (None, None)  # not assigned

    ds.load_state_dict({"epoch": 3, "sample_in_epoch": 8, "num_canonical_nodes": 4,
                        "shuffle_seed": 5, "initial_physical_nodes": 1})  # fmt: skip
    for _ in range(2):  # asked twice: the same answer, nothing consumed
        assert ds.current_epoch == 3
        assert ds.resolved_settings() == ResolvedSettings(4, 5, 1_000_000, 1)
        assert ds.state_dict(0, True)["num_canonical_nodes"] == 4
    assert (ds.num_canonical_nodes, ds.shuffle_seed, ds.shuffle_block_size) == (None, 9176, None)

    played = ids(ds)  # adopts the loaded state's settings, plays epoch 3 from sample 8
    assert played == ds.epoch_sample_ids(3, 8).tolist()
    assert (ds.num_canonical_nodes, ds.shuffle_seed, ds.shuffle_block_size) == (4, 5, 1_000_000)
    assert ds.current_epoch == 3 and ds.resolved_settings().as_dict() == {
        "num_canonical_nodes": 4, "shuffle_seed": 5, "shuffle_block_size": 1_000_000,
        "initial_physical_nodes": 1,
    }  # fmt: skip


def test_samples_in_epoch_is_per_rank_count_times_ranks_over_replication(data: str) -> None:
    plain = StreamingDataset(local=data, batch_size=4, world=World.of(1, 4, 2))
    assert plain.samples_in_epoch(10) == 40
    replicated = StreamingDataset(local=data, batch_size=4, replication=2, world=World.of(1, 4))
    assert replicated.samples_in_epoch(10) == 20 and replicated.samples_in_epoch(0) == 0
    with pytest.raises(ValueError, match=r"per_rank_samples must be a count >= 0, got -1"):
        plain.samples_in_epoch(-1)


def test_loader_state_counts_through_samples_in_epoch(
    data: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`StreamingDataLoader` saves ``samples_in_epoch(yielded)`` (the dataset's own formula)."""
    ds = StreamingDataset(local=data, batch_size=4, replication=2, world=World.of(0, 4))
    loader = StreamingDataLoader(ds, batch_size=4)
    for n, _ in enumerate(loader, 1):
        if n == 3:
            break
    assert loader.state_dict()["sample_in_epoch"] == 3 * 4 * 4 // 2
    monkeypatch.setattr(ds, "samples_in_epoch", lambda per_rank: 1000 + per_rank)
    assert loader.state_dict()["sample_in_epoch"] == 1012
