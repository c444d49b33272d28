"""torchdata's StatefulDataLoader holds a StreamingDataset and resumes it exactly.

torchdata calls ``dataset.state_dict()`` with no arguments (inside each DataLoader worker when
there are workers) and hands each worker its own state back on resume. The samples after the
resume must be the uninterrupted run's, loop by loop: none lost, none repeated.
"""

from __future__ import annotations

from typing import Any

import pytest
from torchdata.stateful_dataloader import StatefulDataLoader

from streaming import StreamingDataset
from tests.dataset._support import write_ids

pytestmark = pytest.mark.filterwarnings("ignore:'set_vital' is deprecated")

BATCH = 4


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_ids(tmp_path_factory.mktemp("stateful") / "d", range(90))


def _loader(data: str, num_workers: int, persistent: bool = False) -> StatefulDataLoader:
    dataset = StreamingDataset(
        local=data, batch_size=BATCH, shuffle=True, num_canonical_nodes=1, shuffle_seed=3
    )
    return StatefulDataLoader(
        dataset,
        batch_size=BATCH,
        num_workers=num_workers,
        persistent_workers=persistent,
    )


def _loops(loader: StatefulDataLoader, loops: int, save_at: tuple[int, int] | None = None):
    """The ids of each loop over `loader`; with `save_at` (loop, batch; batch 0: after the
    loop), also the loader's state there."""
    out: list[list[int]] = []
    state: dict[str, Any] | None = None
    for loop in range(loops):
        ids: list[int] = []
        for n, batch in enumerate(loader, 1):
            ids += batch["id"].tolist()
            if save_at == (loop, n):
                state = loader.state_dict()
        out.append(ids)
        if save_at == (loop, 0):
            state = loader.state_dict()
    return out, state


@pytest.mark.parametrize("num_workers", [0, 2])
@pytest.mark.parametrize(
    "save_at",
    [(0, 3), (0, 23), (0, 0), (1, 5)],
    ids=["mid-epoch", "last-batch", "between-epochs", "second-epoch"],
)
def test_resume_continues_the_uninterrupted_run(
    data: str, num_workers: int, save_at: tuple[int, int]
) -> None:
    loops = 3
    full, state = _loops(_loader(data, num_workers), loops, save_at)
    assert state is not None
    assert sorted(full[0]) == sorted(full[1]) == list(range(90)) and full[0] != full[1]
    loop, batch = save_at
    # What the uninterrupted run played after the save: the rest of that loop, then the others.
    expected = [full[loop][batch * BATCH :] if batch else full[loop + 1]]
    expected += full[loop + 1 + (batch == 0) :]

    resumed = _loader(data, num_workers)
    resumed.load_state_dict(state)
    got, _ = _loops(resumed, len(expected))
    assert got == expected


def test_persistent_workers_resume_exactly(data: str) -> None:
    full, state = _loops(_loader(data, 2, persistent=True), 3, (0, 7))
    resumed = _loader(data, 2, persistent=True)
    resumed.load_state_dict(state)
    got, _ = _loops(resumed, 3)
    assert got == [full[0][7 * BATCH :], full[1], full[2]]


def test_worker_states_are_per_worker(data: str) -> None:
    """Each worker saves where it stood in its own share; the main process's dataset is never
    asked. A worker's state names the worker and refuses to resume anywhere else."""
    _, state = _loops(_loader(data, 2), 1, (0, 5))
    assert state is not None
    snapshots = state["_snapshot"]["_worker_snapshots"]
    workers = {key: snap["dataset_state"]["worker"] for key, snap in sorted(snapshots.items())}
    # Batches alternate between the two workers: 3 from worker 0, 2 from worker 1.
    assert list(workers.values()) == [
        {"id": 0, "num_workers": 2, "yielded": 3 * BATCH},
        {"id": 1, "num_workers": 2, "yielded": 2 * BATCH},
    ]
    worker_state = snapshots["worker_0"]["dataset_state"]
    assert worker_state["epoch"] == 0 and worker_state["sample_in_epoch"] == 0

    dataset = StreamingDataset(local=data, batch_size=BATCH, shuffle=True, num_canonical_nodes=1)
    dataset.load_state_dict(worker_state)
    with pytest.raises(
        ValueError, match=r"saved by DataLoader worker 0 of 2 .* outside DataLoader"
    ):
        iter(dataset)


def test_state_dict_without_arguments_in_one_process(data: str) -> None:
    """No workers: the state counts what this process's iteration yielded (over all ranks),
    in the peer's keys, so StreamingDataset and mosaicml-streaming load it too."""
    dataset = StreamingDataset(local=data, batch_size=BATCH, num_canonical_nodes=1)
    assert dataset.state_dict() == {
        "epoch": 0,
        "sample_in_epoch": 0,
        "num_canonical_nodes": 1,
        "shuffle_seed": 9176,
        "initial_physical_nodes": 1,
    }
    it = iter(dataset)
    first = [next(it)["id"] for _ in range(10)]
    state = dataset.state_dict()
    assert (state["epoch"], state["sample_in_epoch"]) == (0, 10) and "worker" not in state
    rest = [s["id"] for s in it]
    assert dataset.state_dict()["sample_in_epoch"] == 90  # the whole epoch
    again = StreamingDataset(local=data, batch_size=BATCH, num_canonical_nodes=1)
    again.load_state_dict(state)
    assert [s["id"] for s in again] == rest and first + rest == list(range(90))
    assert again.state_dict(0, True)["epoch"] == 0  # the two-argument form is unchanged
