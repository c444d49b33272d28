"""Both trainers write the training loss and the evaluation metrics to the recipe's
``loggers`` (CSV; TensorBoard when it is installed), print the last evaluation in the summary,
and keep only ``save_num_checkpoints_to_keep`` checkpoints."""

from __future__ import annotations

import csv
import importlib.util
import os
from pathlib import Path

import pytest

from streaming.config import RecipeError
from streaming.integrations.recipes import run_recipe
from tests.recipes._support import tiny_recipe

CHECKPOINTS = {
    "lightning": {"ep0-ba3.ckpt", "ep0-ba4.ckpt", "last.ckpt"},
    "composer": {"ep0-ba3-rank0.pt", "ep0-ba4-rank0.pt", "latest-rank0.pt"},
}


@pytest.mark.slow
def test_eval_metrics_are_logged_and_shown(tiny_data: Path, tmp_path: Path) -> None:
    """The same rows on both trainers, and the same evaluation loss (a mean over samples)."""
    losses = {}
    for kind in ("lightning", "composer"):
        logs, folder = tmp_path / kind / "logs", tmp_path / kind / "ckpt"
        extra = [
            "max_duration=4ba", "eval_interval=2ba", "trainer.log_every=1", "save_interval=1ba",
            f"save_folder={folder}", "save_num_checkpoints_to_keep=2",
            f"loggers.csv.log_dir={logs}",
        ]  # fmt: skip
        summary = run_recipe(tiny_recipe("cifar10", kind, tiny_data, extra), verbose=False)
        assert list(summary.eval_metrics) == ["eval/loss"] and summary.eval_step == 4
        loss = losses[kind] = summary.eval_metrics["eval/loss"]
        assert f"last eval    loss {loss:.4f} (after step 4)" in summary.format().splitlines()

        with open(logs / "metrics.csv", newline="") as f:
            rows = list(csv.reader(f))
        assert rows[0] == ["step", "metric", "value"]
        assert [(r[0], r[1]) for r in rows[1:]] == [
            ("1", "train/loss"), ("2", "train/loss"), ("2", "eval/loss"), ("3", "train/loss"),
            ("4", "train/loss"), ("4", "eval/loss"),
        ]  # fmt: skip
        assert float(rows[-1][2]) == loss and float(rows[-2][2]) == summary.last_loss
        assert set(os.listdir(folder)) == CHECKPOINTS[kind]
    assert f"{losses['lightning']:.4f}" == f"{losses['composer']:.4f}"


def test_tensorboard_is_written_when_installed(tmp_path: Path) -> None:
    """With the package, events land in ``log_dir``; without it, the recipe is refused before
    any data loads, saying what to install."""
    from streaming.config.check import check_loggers
    from streaming.integrations.recipes.loggers import build_sinks

    loggers = {"tensorboard": {"log_dir": str(tmp_path)}}
    if importlib.util.find_spec("tensorboard") is None:
        with pytest.raises(RecipeError, match=r"^loggers.tensorboard: the tensorboard package is "
                           r"not installed: pip install tensorboard \(or log with loggers.csv\)$"):
            check_loggers(loggers)
        return
    check_loggers(loggers)
    (sink,) = build_sinks(loggers, "run")
    sink.log(3, {"eval/loss": 1.5})
    sink.close()
    assert [p.name.startswith("events.out.tfevents.") for p in tmp_path.iterdir()] == [True]


def test_csv_rows_append_after_a_resume(tmp_path: Path) -> None:
    from streaming.integrations.recipes.loggers import build_sinks

    loggers = {"csv": {"log_dir": str(tmp_path)}}
    for step in (1, 2):
        (sink,) = build_sinks(loggers, "run")
        sink.log(step, {"train/loss": 0.5 * step})
        sink.close()
    text = (tmp_path / "metrics.csv").read_bytes()
    assert text == b"step,metric,value\r\n1,train/loss,0.5\r\n2,train/loss,1.0\r\n"
    (default,) = build_sinks({"csv": None}, "my-run")
    assert default.path == os.path.join("logs", "my-run", "metrics.csv")  # type: ignore[attr-defined]
