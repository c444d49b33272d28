"""Lightning recipe runs stopped anywhere (mid-epoch, at an epoch's end, by a step or an epoch
``max_duration``) and relaunched with another ``max_duration`` keep the epoch counter and the
checkpoint names of an uninterrupted run, and train exactly its samples.

CIFAR10's tiny replica is 7 steps an epoch at 2 samples a step; checkpoints every 4 steps.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streaming.integrations.recipes import run_recipe
from streaming.integrations.recipes.report import RunSummary
from tests.recipes._support import tiny_recipe

QUICK = ["eval_loader=null", "save_interval=4ba"]


def train(data: Path, folder: Path, duration: str) -> RunSummary:
    extra = [*QUICK, f"save_folder={folder}", f"max_duration={duration}"]
    return run_recipe(tiny_recipe("cifar10", "lightning", data, extra), record_ids=True,
                      verbose=False)  # fmt: skip


def names(folder: Path) -> set[str]:
    return set(os.listdir(folder)) - {"last.ckpt"}


@pytest.fixture(scope="module")
def uninterrupted(tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    folder = tmp_path_factory.mktemp("uninterrupted")
    full = train(tiny_data, folder, "3ep")
    assert (full.steps, full.steps_run) == (21, 21)
    assert names(folder) == {
        "ep0-ba4.ckpt", "ep1-ba8.ckpt", "ep1-ba12.ckpt", "ep2-ba16.ckpt", "ep2-ba20.ckpt",
        "ep2-ba21.ckpt",
    }  # fmt: skip
    return folder, full.sample_ids or []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("first", "first_name", "then", "steps"),
    [
        ("10ba", "ep1-ba10.ckpt", "3ep", 21),  # mid-epoch, relaunched by epochs
        ("7ba", "ep0-ba7.ckpt", "3ep", 21),  # at an epoch's end by steps
        ("1ep", "ep0-ba7.ckpt", "17ba", 17),  # at an epoch's end by epochs, relaunched by steps
    ],
)
def test_a_relaunch_continues_the_epoch_count_and_the_names(
    first: str, first_name: str, then: str, steps: int, tiny_data: Path, tmp_path: Path,
    uninterrupted: tuple[Path, list],
) -> None:  # fmt: skip
    reference, reference_ids = uninterrupted
    stopped = int(first_name.split("-ba")[1].split(".")[0])
    one = train(tiny_data, tmp_path, first)
    assert one.checkpoint == str(tmp_path / first_name)
    assert (one.steps, one.steps_run) == (stopped, stopped)
    two = train(tiny_data, tmp_path, then)
    assert (two.steps, two.steps_run) == (steps, steps - stopped)
    assert (one.sample_ids or []) + (two.sample_ids or []) == reference_ids[:steps]
    expected = {n for n in names(reference) if int(n.split("-ba")[1][:-5]) <= steps}
    expected |= {first_name, f"ep{(steps - 1) // 7}-ba{steps}.ckpt"}
    assert names(tmp_path) == expected
