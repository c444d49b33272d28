"""`build_dataspec` under Composer: a run that crashes and resumes from a checkpoint trains
exactly the samples of an uninterrupted run, in order.

A crash is a `Crash` raised after a batch; the run resumes from the last checkpoint before it in
a fresh Trainer (fresh processes for 2 ranks). Runs last 3 epochs of 15 batches.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from streaming.integrations.composer import StreamingCursor, build_dataspec
from tests.integrations._support import flat, global_steps, read_ranks, run_phases
from tests.integrations.composer_app import fit
from tests.integrations.lightning_app import features

COMPOSER = str(Path(sys.executable).parent / "composer")  # the launcher, beside this python


def crash_and_resume(
    data: str, tmp_path: Path, ckpt: str, *, crash_at: int, trained_before: int,
    edit: Any = None, resume: dict | None = None, **kwargs: Any,
) -> tuple[list[list[int]], list[list[int]]]:  # fmt: skip
    """(uninterrupted batches, batches trained up to the checkpoint + after resuming from it);
    `edit` may rewrite the checkpoint's ``state`` first."""
    save = {k: kwargs.pop(k) for k in ("save_interval",) if k in kwargs}
    full = fit(data, max_duration="3ep", **kwargs)
    crashed = fit(data, max_duration="3ep", save_folder=str(tmp_path), crash_at=crash_at,
                  **save, **kwargs)  # fmt: skip
    assert len(crashed) == crash_at, "the crash did not happen where the test expects"
    if edit is not None:
        checkpoint = torch.load(tmp_path / ckpt, weights_only=False)
        edit(checkpoint["state"])
        torch.save(checkpoint, tmp_path / ckpt)
    resumed = fit(data, max_duration="3ep", load_path=str(tmp_path / ckpt),
                  **{**kwargs, **(resume or {})})  # fmt: skip
    return full, crashed[:trained_before] + resumed


def dataset_state(path: Path) -> dict[str, Any]:
    return torch.load(path, weights_only=False)["state"]["dataset_state"]["train"]


def test_resume_mid_epoch_without_spinning(ids_data: str, tmp_path: Path) -> None:
    """The resumed run reads no sample before the cursor: Composer trusts the dataset's
    load_state_dict and does not fetch and drop the first batches."""
    read: list[int] = []

    def recording(sample: dict) -> dict:
        read.append(sample["id"])
        return features(sample)

    full, resumed = crash_and_resume(
        ids_data, tmp_path, "ep0-ba3-rank0.pt", crash_at=5, trained_before=3,
        resume={"transform": recording},
    )  # fmt: skip
    assert sorted(flat(full[:15])) == list(range(60)) and len(full) == 45
    assert resumed == full
    assert read == flat(full[3:])  # every sample read after the resume was trained, in order
    state = dataset_state(tmp_path / "ep0-ba3-rank0.pt")
    assert set(state) == {"epoch", "sample_in_epoch", "num_canonical_nodes", "shuffle_seed",
                          "initial_physical_nodes"}  # fmt: skip
    assert (state["epoch"], state["sample_in_epoch"]) == (0, 12)
    callbacks = torch.load(tmp_path / "ep0-ba3-rank0.pt", weights_only=False)["state"]["callbacks"]
    assert callbacks["StreamingCursor"].keys() == {"dataset", "rng"}  # rng: one per rank
    assert callbacks["StreamingCursor"]["dataset"] == state
    assert len(callbacks["StreamingCursor"]["rng"]) == 1


@pytest.mark.slow
@pytest.mark.parametrize("persistent", [False, True])
def test_workers_resume_and_next_epoch_is_not_resumed_again(
    ids_data: str, tmp_path: Path, persistent: bool
) -> None:
    full, resumed = crash_and_resume(
        ids_data, tmp_path, "ep0-ba3-rank0.pt", crash_at=5, trained_before=3,
        num_workers=2, persistent_workers=persistent,
    )  # fmt: skip
    assert resumed == full


def test_checkpoint_at_epoch_end_resumes_at_the_next_epoch(ids_data: str, tmp_path: Path):
    """Composer's count is 0 at the epoch checkpoint; mosaicml-streaming then saves the finished
    epoch with sample 0 and repeats it."""
    full, resumed = crash_and_resume(
        ids_data, tmp_path, "ep1-ba15-rank0.pt", crash_at=20, trained_before=15,
        save_interval="1ep",
    )  # fmt: skip
    assert resumed == full
    state = dataset_state(tmp_path / "ep1-ba15-rank0.pt")
    assert (state["epoch"], state["sample_in_epoch"]) == (1, 0)


def test_checkpoint_at_the_last_batch_of_an_epoch(ids_data: str, tmp_path: Path) -> None:
    """Saved before Composer ends the epoch: resuming, it plays the (empty) rest of it first."""
    full, resumed = crash_and_resume(
        ids_data, tmp_path, "ep0-ba15-rank0.pt", crash_at=20, trained_before=15,
        save_interval="15ba",
    )  # fmt: skip
    assert resumed == full


def _drop_dataset_state(state: dict[str, Any]) -> None:
    state["dataset_state"]["train"] = None


def _drop_every_cursor(state: dict[str, Any]) -> None:
    state["dataset_state"]["train"] = None
    del state["callbacks"]["StreamingCursor"]


@pytest.mark.parametrize("edit", [_drop_dataset_state, _drop_every_cursor])
def test_checkpoint_without_dataset_state_resumes_exactly(
    ids_data: str, tmp_path: Path, edit: Any
) -> None:
    """An older checkpoint: Composer calls load_state_dict(None) and does not spin. The
    callback resumes at the cursor it saved, else at Composer's restored position."""
    full, resumed = crash_and_resume(
        ids_data, tmp_path, "ep0-ba3-rank0.pt", crash_at=5, trained_before=3, edit=edit,
    )  # fmt: skip
    assert resumed == full


def test_checkpoint_without_dataset_state_and_no_callback_warns(ids_data: str, tmp_path: Path):
    with pytest.warns(UserWarning, match="without a dataset state"):
        crash_and_resume(
            ids_data, tmp_path, "ep0-ba3-rank0.pt", crash_at=5, trained_before=3,
            edit=_drop_dataset_state, resume={"cursor": False},
        )  # fmt: skip


def test_dataspec_counts_samples_and_tokens(ids_data: str) -> None:
    from composer import Trainer
    from composer.loggers import InMemoryLogger

    from tests.integrations.composer_app import IdModel

    def tokens(sample: dict) -> dict:
        return {**features(sample), "tokens": torch.zeros(3, dtype=torch.int64)}

    spec = build_dataspec(local=ids_data, batch_size=4, transform=tokens, tokens_key="tokens",
                          num_tokens=180)  # fmt: skip
    assert (spec.num_samples, spec.num_tokens) == (60, 180)
    model = IdModel()
    trainer = Trainer(
        model=model, train_dataloader=spec, max_duration="1ep", device="cpu",
        optimizers=torch.optim.SGD(model.parameters(), lr=0.01), progress_bar=False,
        log_to_console=False, loggers=[logged := InMemoryLogger()], callbacks=[StreamingCursor()],
    )  # fmt: skip
    trainer.fit()
    timestamp = trainer.state.timestamp
    assert (int(timestamp.sample), int(timestamp.token), int(timestamp.batch)) == (60, 180, 15)
    assert {"data/wait_s", "data/samples_per_s", "data/cache_hits", "data/cache_misses",
            "data/bytes_downloaded"} <= set(logged.data)  # fmt: skip
    trainer.close()


def test_bad_arguments_say_what_to_do(ids_data: str) -> None:
    with pytest.raises(ValueError, match="num_workers"):
        build_dataspec(local=ids_data, batch_size=4, persistent_workers=True)


@pytest.mark.slow
def test_two_processes_resume_from_rank_zeros_checkpoint(ids_data: str, tmp_path: Path):
    """``composer -n 2``: an uninterrupted run, a run that crashes after batch 5 with a
    checkpoint (written by rank 0 only) at batch 3, and a run resumed from it."""
    common = {"data": ids_data, "max_duration": "2ep"}
    run_phases("tests.integrations.composer_app", [
        {**common, "record": str(tmp_path / "full-{rank}.json")},
        {**common, "record": str(tmp_path / "crash-{rank}.json"), "crash_at": 5,
         "save_folder": str(tmp_path / "ckpt")},
        {**common, "record": str(tmp_path / "resume-{rank}.json"),
         "load_path": str(tmp_path / "ckpt" / "ep0-ba3-rank0.pt")},
    ], tmp_path, COMPOSER, "-n", "2")  # fmt: skip
    full = global_steps(read_ranks(str(tmp_path / "full-{rank}.json"), 2))
    assert sorted(flat(full[:8])) == list(range(60)) and len(full) == 16
    crashed = global_steps(read_ranks(str(tmp_path / "crash-{rank}.json"), 2))
    resumed = global_steps(read_ranks(str(tmp_path / "resume-{rank}.json"), 2))
    assert crashed[:3] + resumed == full
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir() if "rank" in p.name) == [
        "ep0-ba3-rank0.pt", "latest-rank0.pt"
    ]  # fmt: skip
    state = dataset_state(tmp_path / "ckpt" / "ep0-ba3-rank0.pt")
    assert state["sample_in_epoch"] == 24  # over both ranks
    json.dumps(state)


@pytest.fixture(scope="module")
def peer_run(ids_data: str, tmp_path_factory: pytest.TempPathFactory, mosaic_python: Path):
    """mosaicml-streaming 0.13 trained under real Composer 0.32.1, in the peer's venv
    (`_peer_composer.py`): 2 epochs of 15 batches without stopping, checkpointed mid-epoch
    (batches 6 and 20) and at the end of epoch 0 (`ep1-ba15`). (Its batches of ids, the folder.)"""
    from tests.peers.runner import run_peer

    folder = tmp_path_factory.mktemp("peer-composer")
    script = (Path(__file__).parent / "_peer_composer.py").read_text()
    trained = json.loads(run_peer(mosaic_python, script, ids_data, str(folder), "2ep",
                                  "6ba,1ep,20ba"))  # fmt: skip
    return trained, folder


@pytest.mark.peer
@pytest.mark.slow
@pytest.mark.parametrize(
    ("checkpoint", "batch"),
    [
        ("ep0-ba6-rank0.pt", 6),
        ("ep1-ba20-rank0.pt", 20),
        # The peer saves the end of epoch 0 as (epoch 0, sample 0); StreamingCursor reads
        # Composer's restored timestamp (epoch 1, sample 0) and goes on with epoch 1.
        ("ep1-ba15-rank0.pt", 15),
    ],
)  # fmt: skip
def test_a_mosaicml_streaming_checkpoint_resumes_with_the_same_next_samples(
    ids_data: str, peer_run: tuple[list[list[int]], Path], checkpoint: str, batch: int
) -> None:
    """A checkpoint Composer wrote while training on mosaicml-streaming's dataset, loaded by
    ``Trainer(load_path=...)`` over our `build_dataspec` (same data and settings): our run trains
    exactly the batches the peer's uninterrupted run trained after that checkpoint."""
    trained, folder = peer_run
    assert len(trained) == 30 and sorted(flat(trained[:15])) == list(range(60))
    state = dataset_state(folder / checkpoint)
    assert set(state) == {"epoch", "sample_in_epoch", "num_canonical_nodes", "shuffle_seed",
                          "initial_physical_nodes"}  # fmt: skip
    resumed = fit(ids_data, max_duration="2ep", load_path=str(folder / checkpoint))
    assert resumed == trained[batch:]
