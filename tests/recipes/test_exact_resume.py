"""A recipe resumed from its checkpoint trains bit-identically to an uninterrupted run: the loss
of every step after the resume (the CSV logger's ``train/loss``, written as ``repr``) and the
final weights (the last checkpoint's), to the bit.

`exact_extra`, `step_losses` and `final_weights` are shared with the per-recipe resume test
(tests/recipes/test_train.py) and benchmarks/exact_resume.py; this module adds the default image
path of issue 13 (cifar10, ``decode: cpu``, random crops and flips in 2 DataLoader workers),
resumed mid-epoch and at an epoch's end, on both trainers.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
import torch

from streaming.integrations.recipes import run_recipe
from streaming.integrations.recipes.report import RunSummary
from tests.recipes._support import tiny_recipe


def exact_extra(log_dir: Path) -> list[str]:
    """Overrides that log every step's loss to ``<log_dir>/metrics.csv``."""
    return ["trainer.log_every=1", f"loggers.csv.log_dir={log_dir}"]


def step_losses(log_dir: Path) -> dict[int, float]:
    """Step -> training loss, from a run's CSV log (a resumed run appends to the same file)."""
    with open(log_dir / "metrics.csv", newline="") as f:
        return {int(r["step"]): float(r["value"]) for r in csv.DictReader(f)
                if r["metric"] == "train/loss"}  # fmt: skip


def final_weights(checkpoint: str) -> dict[str, torch.Tensor]:
    """The model weights in a Lightning (``.ckpt``) or Composer (``.pt``) checkpoint."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    weights = state["state_dict"] if "state_dict" in state else state["state"]["model"]
    return {k: v for k, v in weights.items() if isinstance(v, torch.Tensor)}


def same_bits(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    """Equal names, and each tensor equal to the bit (NaN included)."""
    return a.keys() == b.keys() and all(
        a[k].dtype == b[k].dtype and a[k].shape == b[k].shape
        and a[k].reshape(-1).view(torch.uint8).equal(b[k].reshape(-1).view(torch.uint8))
        for k in a
    )  # fmt: skip


def train(recipe: str, kind: str, data: Path, *extra: str) -> RunSummary:
    return run_recipe(tiny_recipe(recipe, kind, data, extra), record_ids=True, verbose=False)


def uninterrupted_and_resumed(
    recipe: str, kind: str, data: Path, work: Path, stop: int, steps: int, *extra: str
) -> dict[str, Any]:
    """An uninterrupted run of `steps` steps, and a run stopped after `stop` steps (checkpoint
    there) then relaunched to `steps`: their summaries, losses and final weights."""
    out: dict[str, Any] = {}
    for name, stops in (("full", [steps]), ("resumed", [stop, steps])):
        logs, folder = work / f"{name}-logs", work / f"{name}-ckpt"
        runs = [
            train(recipe, kind, data, *extra, *exact_extra(logs), f"max_duration={n}ba",
                  f"save_interval={stop}ba", f"save_folder={folder}")
            for n in stops
        ]  # fmt: skip
        out[name] = {
            "runs": runs, "losses": step_losses(logs),
            "weights": final_weights(runs[-1].checkpoint or ""),
        }
    return out


def check_exact(result: dict[str, Any], stop: int, steps: int) -> None:
    full, resumed = result["full"], result["resumed"]
    assert sorted(full["losses"]) == list(range(1, steps + 1))
    assert resumed["losses"] == full["losses"]  # every step, before and after the resume
    assert same_bits(resumed["weights"], full["weights"])
    first, second = resumed["runs"]
    assert (first.steps, second.steps, second.steps_run) == (stop, steps, steps - stop)
    assert (first.sample_ids or []) + (second.sample_ids or []) == full["runs"][0].sample_ids


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["lightning", "composer"])
@pytest.mark.parametrize("stop", [3, 7], ids=["mid-epoch", "epoch-end"])
def test_cifar10_cpu_decode_with_workers_resumes_bit_identically(
    kind: str, stop: int, tiny_data: Path, tmp_path: Path
) -> None:
    """The issue's case: ``decode: cpu`` augments in the DataLoader workers (2 here); tiny
    CIFAR10 has 7 steps an epoch at 2 samples a step (and an evaluation after each epoch)."""
    extra = ["train_loader.num_workers=2", "train_loader.dataset.decode=cpu"]
    result = uninterrupted_and_resumed("cifar10", kind, tiny_data, tmp_path, stop, 9, *extra)
    check_exact(result, stop, 9)
