"""`make demo` converts the bundled digits, checks every sample, trains a CNN, kills the run
mid-epoch, resumes it and checks nothing was lost or repeated; it must keep working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def run_demo(out: Path, *flags: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "streaming.cli.demo", "--out", str(out), *flags],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def check_report(stdout: str) -> None:
    assert "killed (SIGKILL) after step 67 (epoch 1, step 20 of 47)" in stdout
    assert "step 60), dataset state {'epoch': 1, 'sample_in_epoch': 416" in stdout
    assert "trained 4491 samples in 141 steps == the uninterrupted order" in stdout
    assert "none lost, none repeated" in stdout
    assert (
        "losses of steps 61-141 == the uninterrupted run's, bit for bit; final weights (6 "
        "tensors) identical to the bit"
    ) in stdout
    accuracy = float(stdout.split("validation accuracy ")[1].split("%")[0])
    assert accuracy > 80


@pytest.mark.slow
def test_demo_trains_with_lightning_through_a_crash(tmp_path: Path) -> None:
    stdout = run_demo(tmp_path / "digits")
    assert "read back 1797 samples" in stdout
    assert (tmp_path / "digits" / "train" / "index.json").exists()
    check_report(stdout)


@pytest.mark.slow
def test_demo_trains_with_composer_through_a_crash(tmp_path: Path) -> None:
    check_report(run_demo(tmp_path / "digits", "--composer"))


def test_demo_converts_and_verifies_every_sample(tmp_path: Path) -> None:
    stdout = run_demo(tmp_path / "digits", "--no-train")
    assert "read back 1797 samples" in stdout and "none lost, none repeated" in stdout
