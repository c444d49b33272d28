"""StreamingDataset without the peer: settings checks, random access, remotes copied into
`local`, simulated ranks and workers, epochs and resumption through StreamingDataLoader."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from streaming import Stream, StreamingDataLoader, StreamingDataset
from streaming.ordering import OrderingSettings, Topology, generate_work
from tests.dataset._support import write_ids

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ds")
    write_ids(root / "a", range(120))
    write_ids(root / "b", range(500, 560), compression="zstd")
    write_ids(root / "split" / "train", range(30))
    return root


def ids(rows: list[dict]) -> list[int]:
    return [int(r["id"]) for r in rows]


def test_import_streaming_does_not_import_torch() -> None:
    code = (
        "import sys, streaming\n"
        "assert 'torch' not in sys.modules\n"
        "assert streaming.StreamingDataset.__name__ == 'StreamingDataset'\n"
        "assert 'torch' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "either `streams` or `remote`/`local`"),
        ({"sampling_method": "even"}, "sampling method"),
        ({"sampling_granularity": 0}, "sampling_granularity"),
        ({"batching_method": "nope"}, "batching method"),
        ({"shuffle_seed": -1}, "shuffle_seed"),
        ({"partition_algo": "strict"}, "partition_algo"),
        ({"shuffle": True, "shuffle_algo": "py1b"}, "shuffle_algo"),
        ({"num_canonical_nodes": 0}, "num_canonical_nodes"),
        ({"batch_size": 0}, "batch_size"),
        ({"epoch_size": -5}, "epoch_size"),
        ({"cache_limit": 10}, "cache limit"),
    ],
)
def test_bad_settings_name_the_setting(data: Path, kwargs: dict, match: str) -> None:
    if kwargs:
        kwargs = {"local": str(data / "a"), **kwargs}
    with pytest.raises(ValueError, match=match):
        StreamingDataset(**kwargs)


def test_bad_stream_weights(data: Path) -> None:
    with pytest.raises(ValueError, match="at most one"):
        Stream(local=str(data / "a"), proportion=1, repeat=2)
    with pytest.raises(ValueError, match="non-negative"):
        Stream(local=str(data / "a"), choose=-1)
    with pytest.raises(ValueError, match="cannot be mixed"):
        StreamingDataset(
            streams=[Stream(local=str(data / "a"), proportion=1), Stream(local=str(data / "b"))]
        )
    with pytest.raises(ValueError, match="not both"):
        StreamingDataset(streams=[Stream(local=str(data / "a"))], local=str(data / "b"))


def test_sizes_and_random_access(data: Path) -> None:
    ds = StreamingDataset(
        streams=[Stream(local=str(data / "a")), Stream(local=str(data / "b"), repeat=2)]
    )
    assert ds.size == ds.num_samples == 180
    assert ds.epoch_size == len(ds) == 240
    assert ds.num_streams == 2 and ds.num_shards == len(ds.shards)
    assert ds.samples_per_stream.tolist() == [120, 60]
    assert ds[0]["id"] == 0 and ds[130]["id"] == 510 and ds[-1]["id"] == 559
    assert ids(ds[118:122]) == [118, 119, 500, 501]
    assert ids(ds[[3, 150]]) == [3, 530]
    assert ids(ds[np.array([179, 0])]) == [559, 0]
    with pytest.raises(IndexError, match="180 samples"):
        ds[180]
    with pytest.raises(ValueError, match="Unsupported"):
        ds["x"]
    with pytest.warns(UserWarning, match=r"without `batch_size`: using 1, .*inexact resume"):
        assert len(list(ds)) == 240  # the peer raises; we take a plain DataLoader's batch of 1


def test_split_and_file_remote_copied_into_local(data: Path, tmp_path: Path) -> None:
    ds = StreamingDataset(local=str(data / "split"), split="train", batch_size=2)
    assert ids(ds) == list(range(30))
    for remote in (str(data / "b"), (data / "b").as_uri()):
        local = tmp_path / remote.replace("/", "_")
        ds = StreamingDataset(remote=remote, local=str(local), batch_size=4)
        assert not any(f.endswith(".mds") for f in os.listdir(local))  # fetched on first use
        assert ids(ds) == list(range(500, 560))
        assert sorted(os.listdir(local))[:2] == ["index.json", "shard.00000.mds"]  # no .streaming
        assert not any(f.endswith(".zstd") for f in os.listdir(local))  # keep_zip=False


def test_remote_without_local_uses_the_per_user_cache(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ds = StreamingDataset(remote=str(data / "a"), batch_size=4)
    assert ds.streams[0].local.startswith(str(tmp_path / "streaming"))
    assert ids(ds)[:3] == [0, 1, 2]
    # A second dataset (or a later job) on the same remote reuses the cache: no FileExistsError.
    again = StreamingDataset(remote=str(data / "a"), batch_size=4)
    assert again.streams[0].local == ds.streams[0].local
    assert ids(again) == ids(ds)
    with pytest.raises(ValueError, match="no storage backend for scheme"):
        StreamingDataset(remote="ftp://bucket/x", local=str(tmp_path / "s3"), batch_size=4)


def _expected(ds: StreamingDataset, topology: Topology, epoch: int, replication=None):
    settings = OrderingSettings.from_weights(
        [ds.samples_per_shard],
        ds._weights,
        batch_size=ds.batch_size,
        num_canonical_nodes=ds.num_canonical_nodes,
        shuffle=ds.shuffle,
        shuffle_seed=ds.shuffle_seed,
        shuffle_block_size=ds.shuffle_block_size,
    )
    return generate_work("random", settings, topology, epoch, 0, replication)


@pytest.mark.parametrize(("world_size", "local_world_size"), [(4, 2), (3, 3)])
def test_simulated_ranks_split_the_epoch(
    data: Path, monkeypatch: pytest.MonkeyPatch, world_size: int, local_world_size: int
) -> None:
    """Each rank (RANK/WORLD_SIZE/LOCAL_WORLD_SIZE) yields its slice of `generate_work`."""
    seen = []
    for rank in range(world_size):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", str(world_size))
        monkeypatch.setenv("LOCAL_WORLD_SIZE", str(local_world_size))
        ds = StreamingDataset(local=str(data / "a"), batch_size=4, shuffle=True)
        assert len(ds) == -(-120 // world_size)
        seen.append(ids(ds))
        assert ds.num_canonical_nodes == world_size // local_world_size
    work = _expected(ds, Topology(world_size // local_world_size, local_world_size, 1), 0)
    flat = work.reshape(world_size, -1)
    for rank in range(world_size):
        assert seen[rank] == [i for i in flat[rank].tolist() if i != -1]
    assert sorted(set(sum(seen, []))) == list(range(120))


def test_replication_gives_consecutive_ranks_the_same_samples(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = []
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    for rank in range(4):
        monkeypatch.setenv("RANK", str(rank))
        ds = StreamingDataset(local=str(data / "a"), batch_size=4, shuffle=True, replication=2)
        assert len(ds) == 60
        seen.append(ids(ds))
    assert seen[0] == seen[1] and seen[2] == seen[3] and seen[0] != seen[2]
    assert sorted(seen[0] + seen[2]) == list(range(120))
    with pytest.raises(ValueError, match="replication=3"):
        StreamingDataset(local=str(data / "a"), batch_size=4, replication=3)


def test_epochs_advance_and_state_dict(data: Path) -> None:
    ds = StreamingDataset(local=str(data / "a"), batch_size=4, shuffle=True)
    assert ds.state_dict(0, False)["epoch"] == -1  # before the first epoch, as the peer
    first, second = ids(ds), ids(ds)
    assert first != second and sorted(first) == sorted(second) == list(range(120))
    state = ds.state_dict(40, True)
    assert state == {
        "epoch": 1,
        "sample_in_epoch": 40,
        "num_canonical_nodes": 1,
        "shuffle_seed": 9176,
        "initial_physical_nodes": 1,
    }
    again = StreamingDataset(local=str(data / "a"), batch_size=4, shuffle=True)
    again.load_state_dict(state)
    assert ids(again) == second[40:]
    assert again.state_dict(8, False)["sample_in_epoch"] == 48
    assert ids(again)[:5] != second[:5]  # the next epoch is epoch 2, from its start
    assert again.state_dict(0, False)["epoch"] == 2
    with pytest.raises(ValueError, match="epoch"):
        again.load_state_dict({"sample_in_epoch": 3})


@pytest.mark.parametrize("persistent", [False, True])
def test_loader_workers_keep_the_order_and_resume(data: Path, persistent: bool) -> None:
    make = lambda: StreamingDataset(local=str(data / "a"), batch_size=4, shuffle=True)  # noqa: E731
    reference = make()
    epochs = [ids(reference), ids(reference), ids(reference)]
    loader = StreamingDataLoader(make(), batch_size=4, num_workers=2, persistent_workers=persistent)
    for epoch in range(2):
        got = []
        for n, batch in enumerate(loader, 1):
            got += batch["id"].tolist()
            if epoch == 0 and n == 3:
                state = loader.state_dict()
        assert got == epochs[epoch]
    assert state["epoch"] == 0 and state["sample_in_epoch"] == 12
    assert loader.state_dict()["epoch"] == 1
    # Loading while (persistent) workers are alive reaches the next epoch's workers.
    loader.load_state_dict({**state, "epoch": 2})
    assert [i for b in loader for i in b["id"].tolist()] == epochs[2][12:]
    assert loader.state_dict()["sample_in_epoch"] == 120
    # A state behind the epoch the next __iter__ plays is stale and ignored, as the peer.
    loader.load_state_dict(state)
    assert loader.state_dict()["epoch"] == 2
    assert sorted(i for b in loader for i in b["id"].tolist()) == list(range(120))


@pytest.mark.parametrize("persistent", [False, True])
def test_plain_dataloader_advances_epochs_and_main_sees_them(data: Path, persistent: bool) -> None:
    """A plain DataLoader with workers (Composer's way): epochs advance in the workers and the
    main process's dataset.state_dict names the epoch being played."""
    from torch.utils.data import DataLoader

    reference = StreamingDataset(local=str(data / "a"), batch_size=4, shuffle=True)
    epochs = [ids(reference), ids(reference)]
    ds = StreamingDataset(local=str(data / "a"), batch_size=4, shuffle=True)
    loader = DataLoader(ds, batch_size=4, num_workers=2, persistent_workers=persistent)
    for epoch in range(2):
        got = []
        for n, batch in enumerate(loader, 1):
            got += batch["id"].tolist()
            if n == 2:
                assert ds.state_dict(8, True)["epoch"] == epoch
        assert got == epochs[epoch]
    resumed = StreamingDataset(local=str(data / "a"), batch_size=4, shuffle=True)
    resumed.load_state_dict(ds.state_dict(8, True))
    loader = DataLoader(resumed, batch_size=4, num_workers=2, persistent_workers=persistent)
    assert [i for b in loader for i in b["id"].tolist()] == epochs[1][8:]


def test_dataset_copies_and_pickles(data: Path) -> None:
    import copy
    import pickle

    ds = StreamingDataset(local=str(data / "a"), batch_size=4, shuffle=True)
    first = ids(ds)
    clone = pickle.loads(pickle.dumps(ds))
    twin = copy.deepcopy(ds)
    assert ids(clone) == ids(twin) == ids(ds) != first  # all play epoch 1
    assert ds.state_dict(0, True)["epoch"] == 1
