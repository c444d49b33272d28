"""Ctrl-C during ``streaming train``, on both trainers: the run stops after its current step,
saves a checkpoint there, writes ``--record-ids``, prints the command that resumes, and exits
130; that command trains the rest, and the two runs together train exactly the samples of an
uninterrupted run."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from streaming.integrations.recipes import run_recipe
from tests.recipes._support import REPO, tiny_overrides, tiny_recipe

CONSOLE = Path(sys.executable).parent / "streaming"
EXTRA = ["max_duration=2ep", "eval_loader=null", "train_loader.num_workers=1",
         "trainer.log_every=1"]  # fmt: skip
STEPS = 14  # 2 epochs of 7 steps
EPOCH_STEPS = 7


def start(command: list[str], cwd: Path) -> tuple[subprocess.Popen, list[str]]:
    """`command` in its own process group (as a terminal runs it), and its output lines as they
    come."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    return proc, lines


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "signum"), [("lightning", signal.SIGINT),
                                              ("composer", signal.SIGTERM)])  # fmt: skip
def test_ctrl_c_saves_prints_the_resume_command_and_exits_130(
    kind: str, signum: signal.Signals, tiny_data: Path, tmp_path: Path
) -> None:
    reference = run_recipe(
        tiny_recipe("cifar10", kind, tiny_data, [*EXTRA, f"save_folder={tmp_path / 'ref'}"]),
        record_ids=True, verbose=False,
    )  # fmt: skip
    assert reference.steps == STEPS
    folder, ids = tmp_path / "ckpt", tmp_path / "ids.json"
    overrides = tiny_overrides("cifar10", tiny_data, f"save_folder={folder}", *EXTRA)
    args = ["train", str(REPO / "recipes" / "cifar10.yaml"), *overrides,
            "--include", f"configs/trainers/{kind}_cpu.yaml", "--record-ids", str(ids)]  # fmt: skip

    proc, lines = start([str(CONSOLE), *args], tmp_path)
    deadline = time.monotonic() + 240
    while not any(line.startswith(f"[{kind}] step 3 ") for line in lines):
        assert proc.poll() is None and time.monotonic() < deadline, "\n".join(lines)
        time.sleep(0.05)
    if signum == signal.SIGINT:
        os.killpg(proc.pid, signum)  # Ctrl-C: the whole foreground group, workers too
    else:
        os.kill(proc.pid, signum)
    assert proc.wait(timeout=240) == 130, "\n".join(lines)
    time.sleep(0.2)  # the reader thread takes the last lines

    last = lines[-1]
    name = signal.Signals(signum).name
    found = re.fullmatch(
        rf"interrupted \({name}\) at step (\d+); checkpoint saved to (\S+); run the same "
        r"command to resume: (.+)", last,
    )  # fmt: skip
    assert found, "\n".join(lines)
    step = int(found.group(1))
    assert 3 <= step < STEPS
    suffix = ".ckpt" if kind == "lightning" else "-rank0.pt"
    # The signal lands a few steps after step 3 on a loaded machine, possibly in epoch 1; at an
    # epoch's last step the trainer may already count the next epoch.
    epochs = {str((step - 1) // EPOCH_STEPS), str(step // EPOCH_STEPS)}
    named = re.fullmatch(rf"ep(\d+)-ba{step}{re.escape(suffix)}", Path(found.group(2)).name)
    assert Path(found.group(2)).parent == folder and named and named.group(1) in epochs, last
    assert Path(found.group(2)).is_file()
    assert shlex.split(found.group(3)) == ["streaming", *args]
    assert f"steps        {step} this run, {step} in all" in lines
    first = json.loads(ids.read_text())
    assert len(first) == step

    proc, lines = start([str(CONSOLE), *shlex.split(found.group(3))[1:]], tmp_path)
    assert proc.wait(timeout=300) == 0, "\n".join(lines)
    time.sleep(0.2)
    assert f"steps        {STEPS - step} this run, {STEPS} in all" in lines, "\n".join(lines)
    assert first + json.loads(ids.read_text()) == reference.sample_ids
