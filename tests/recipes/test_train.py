"""Every recipe, end to end on its tiny data, on both trainers, resumed from its own checkpoint:
the resumed runs train exactly the samples of an uninterrupted run, in the same steps, with the
same loss at every step and the same final weights, to the bit."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from streaming.integrations.recipes import run_recipe
from streaming.integrations.recipes.data import plan_data
from streaming.integrations.recipes.report import RunSummary
from tests.recipes._support import RECIPES, tiny_recipe
from tests.recipes.test_exact_resume import exact_extra, final_weights, same_bits, step_losses


def train(recipe: str, kind: str, data: Path, *extra: str) -> RunSummary:
    cfg = tiny_recipe(recipe, kind, data, extra)
    return run_recipe(cfg, record_ids=True, verbose=False)


def check_finished(summary: RunSummary, steps: int, steps_run: int) -> None:
    assert (summary.steps, summary.steps_run) == (steps, steps_run)
    assert summary.samples_run == sum(len(ids) for ids in summary.sample_ids or [])
    assert summary.last_loss is not None and math.isfinite(summary.last_loss)


@pytest.mark.slow
@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_trains_and_resumes_on_both_trainers(
    recipe: str, tiny_data: Path, tmp_path: Path
) -> None:
    logs = {name: exact_extra(tmp_path / f"{name}-logs") for name in ("full", "lightning")}
    full = train(recipe, "lightning", tiny_data, f"save_folder={tmp_path / 'full'}", *logs["full"])
    check_finished(full, 4, 4)
    assert full.sample_ids is not None and len(full.sample_ids) == 4
    assert full.checkpoint and Path(full.checkpoint).parent == tmp_path / "full"

    # Lightning: stop after 2 steps, resume from the checkpoint it saved (load_path).
    folder = tmp_path / "lightning"
    first = train(recipe, "lightning", tiny_data, "max_duration=2ba", f"save_folder={folder}",
                  *logs["lightning"])  # fmt: skip
    check_finished(first, 2, 2)
    assert first.checkpoint and re.fullmatch(r"ep\d+-ba2\.ckpt", Path(first.checkpoint).name)
    second = train(
        recipe, "lightning", tiny_data, f"save_folder={folder}", f"load_path={first.checkpoint}",
        "autoresume=false", *logs["lightning"],
    )  # fmt: skip
    check_finished(second, 4, 2)
    assert second.resumed_from == first.checkpoint
    assert (first.sample_ids or []) + (second.sample_ids or []) == full.sample_ids
    assert step_losses(tmp_path / "lightning-logs") == step_losses(tmp_path / "full-logs")
    assert same_bits(final_weights(second.checkpoint or ""), final_weights(full.checkpoint or ""))

    # Composer: the same, resuming by autoresume from the latest checkpoint in save_folder.
    # (and an uninterrupted Composer run, for its losses and weights)
    logs = {name: exact_extra(tmp_path / f"{name}-logs") for name in ("cfull", "composer")}
    cfull = train(
        recipe, "composer", tiny_data, f"save_folder={tmp_path / 'cfull'}", *logs["cfull"]
    )  # fmt: skip
    assert cfull.sample_ids == full.sample_ids
    folder = tmp_path / "composer"
    first = train(recipe, "composer", tiny_data, "max_duration=2ba", f"save_folder={folder}",
                  *logs["composer"])  # fmt: skip
    check_finished(first, 2, 2)
    assert first.checkpoint and Path(first.checkpoint).parent == folder
    assert re.fullmatch(r"ep\d+-ba2-rank0\.pt", Path(first.checkpoint).name)
    second = train(recipe, "composer", tiny_data, f"save_folder={folder}", *logs["composer"])
    check_finished(second, 4, 2)
    assert second.resumed_from == str(folder / "latest-rank0.pt")
    assert (first.sample_ids or []) + (second.sample_ids or []) == full.sample_ids
    assert step_losses(tmp_path / "composer-logs") == step_losses(tmp_path / "cfull-logs")
    assert same_bits(final_weights(second.checkpoint or ""), final_weights(cfull.checkpoint or ""))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["lightning", "composer"])
def test_imagenet_decodes_in_the_workers_or_on_the_device(
    kind: str, tiny_data: Path, tmp_path: Path
) -> None:
    """``decode: cpu`` and ``decode: device`` train the same samples; only where the images
    are decoded differs (the device path's batches reach the model as bytes until the device
    stage)."""
    runs = {}
    for decode in ("cpu", "device"):
        extra = [f"train_loader.dataset.decode={decode}", f"save_folder={tmp_path / decode}"]
        cfg = tiny_recipe("imagenet", kind, tiny_data, ["max_duration=3ba", *extra])
        plan = plan_data(cfg.train_loader.dataset, train=True)
        if decode == "device":
            assert plan.reader_options["decode"] == "none" and plan.device_transform is not None
        else:
            assert "decode" not in plan.reader_options and plan.device_transform is None
        runs[decode] = run_recipe(cfg, record_ids=True, verbose=False)
        check_finished(runs[decode], 3, 3)
    assert runs["cpu"].sample_ids == runs["device"].sample_ids


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["lightning", "composer"])
def test_a_run_checkpoints_at_its_end_and_resumes_there(
    kind: str, tiny_data: Path, tmp_path: Path
) -> None:
    """With no ``save_interval`` reached, the end of training is still saved (mid-epoch here:
    7 steps make CIFAR10's tiny epoch), and the run resumes from it exactly."""
    quick = ["save_interval=100ba", "eval_loader=null"]
    reference = train("cifar10", kind, tiny_data, *quick, "max_duration=5ba",
                      f"save_folder={tmp_path / 'ref'}")  # fmt: skip
    folder = tmp_path / "run"
    first = train("cifar10", kind, tiny_data, *quick, "max_duration=3ba", f"save_folder={folder}")
    assert first.checkpoint and re.search(r"ba3(-rank0)?\.(ckpt|pt)$", first.checkpoint)
    second = train("cifar10", kind, tiny_data, *quick, "max_duration=5ba", f"save_folder={folder}")
    check_finished(second, 5, 2)
    assert second.checkpoint and re.search(r"ba5(-rank0)?\.(ckpt|pt)$", second.checkpoint)
    assert (first.sample_ids or []) + (second.sample_ids or []) == reference.sample_ids
