"""``streaming train``: the dry run, one-line errors, and a real run through the console script
that stops, resumes by ``autoresume``, and trains exactly an uninterrupted run's samples."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from streaming.cli.main import main
from streaming.integrations.recipes import run_recipe
from tests.recipes._support import REPO, tiny_overrides, tiny_recipe

CONSOLE = Path(sys.executable).parent / "streaming"


def test_dry_run_prints_the_resolved_recipe(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["train", str(REPO / "recipes" / "imagenet.yaml"), "--dry-run",
            "train_loader.dataset.decode=cpu", "trainer.devices=4",
            "--include", "configs/trainers/composer_gpu.yaml"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    cfg = OmegaConf.create(out)
    assert cfg.train_loader.dataset.decode == cfg.eval_loader.dataset.decode == "cpu"
    assert (cfg.trainer.kind, cfg.trainer.devices, cfg.trainer.precision) == (
        "composer", 4, "amp_bf16"
    )  # fmt: skip
    assert out.rstrip().endswith("# composer on 4 gpu device(s), 64 samples per device per step")


@pytest.mark.parametrize(
    ("args", "source", "message"),
    [
        (["max_durtion=2ep"], "override `max_durtion=2ep`",
         "Key 'max_durtion' not in 'TrainConfig'. Did you mean: 'max_dur"),
        (["model.name=resnet"], "override `model.name=resnet`",
         "model.name: unknown model 'resnet'"),
        (["--include", "configs/trainers/nope.yaml"], "RECIPE",
         "Fragment 'configs/trainers/nope.yaml'"),
    ],
)  # fmt: skip
def test_errors_are_one_line_with_a_hint(
    args: list[str], source: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = str(REPO / "recipes" / "cifar10.yaml")
    assert main(["train", recipe, "--dry-run", *args]) == 2
    err = capsys.readouterr().err.splitlines()
    source = recipe if source == "RECIPE" else source
    assert len(err) == 2 and err[0].startswith(f"streaming train: error: {source}: ")
    assert message in err[0] and err[1].startswith("hint: ")


@pytest.mark.slow
def test_console_script_trains_stops_and_autoresumes(tiny_data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ckpt"
    reference = run_recipe(
        tiny_recipe("cifar10", "lightning", tiny_data, [f"save_folder={tmp_path / 'ref'}"]),
        record_ids=True, verbose=False,
    )  # fmt: skip
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    runs = []
    for duration in ("2ba", "4ba"):
        ids = tmp_path / f"ids-{duration}.json"
        overrides = tiny_overrides(
            "cifar10", tiny_data, f"save_folder={folder}", f"max_duration={duration}",
            "train_loader.num_workers=1", "trainer.log_every=1",
        )  # fmt: skip
        recipe = str(REPO / "recipes" / "cifar10.yaml")
        fragment = "configs/trainers/lightning_cpu.yaml"
        command = [str(CONSOLE), "train", recipe, *overrides, "--include", fragment]
        command += ["--record-ids", str(ids)]
        proc = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        runs.append((proc.stdout, json.loads(ids.read_text())))
    (out1, ids1), (out2, ids2) = runs
    assert "[lightning] step 1  loss " in out1 and "[lightning] step 2  loss " in out1
    assert "steps        2 this run, 2 in all" in out1 and "resumed from -" in out1
    assert f"resumed from {folder / 'last.ckpt'}" in out2
    assert "steps        2 this run, 4 in all" in out2
    assert f"checkpoint   {folder}{os.sep}ep" in out2 and "-ba4.ckpt" in out2
    assert ids1 + ids2 == reference.sample_ids


def test_the_resume_command_is_the_same_or_names_the_checkpoint() -> None:
    """With ``autoresume`` the command that resumes is the one that ran; without it, the same
    with ``load_path`` set to the checkpoint (replacing one given)."""
    import argparse

    from streaming.cli.train import resume_command

    args = argparse.Namespace(
        recipe="recipes/cifar10.yaml", overrides=["max_duration=2ep", "load_path=old.ckpt"],
        include=["configs/trainers/composer_cpu.yaml"], record_ids="ids file.json",
    )  # fmt: skip
    tail = "--include configs/trainers/composer_cpu.yaml --record-ids 'ids file.json'"
    assert resume_command(args, "ck/ep0-ba6.ckpt", autoresume=True) == (
        f"streaming train recipes/cifar10.yaml max_duration=2ep load_path=old.ckpt {tail}"
    )
    assert resume_command(args, "ck/ep0-ba6.ckpt", autoresume=False) == (
        f"streaming train recipes/cifar10.yaml max_duration=2ep load_path=ck/ep0-ba6.ckpt {tail}"
    )
    assert resume_command(args, "ck/ep0-ba6-rank0.pt", autoresume=True, launcher=8) == (
        "composer -n 8 -m streaming.cli.main train recipes/cifar10.yaml max_duration=2ep "
        f"load_path=old.ckpt {tail}"
    )
