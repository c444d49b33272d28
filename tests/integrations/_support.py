"""Shared by the adapter tests: run a training script in fresh processes, read what it recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def flat(batches: list[list[int]]) -> list[int]:
    return [i for batch in batches for i in batch]


def run_phases(module: str, phases: list[dict[str, Any]], workdir: Path, *launcher: str) -> None:
    """Run `phases` (each a ``fit`` keyword dict) with ``python -m module`` in a fresh process,
    under `launcher` if given (e.g. ``composer -n 2``)."""
    spec = workdir / "phases.json"
    spec.write_text(json.dumps(phases))
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "ignore"}
    command = [*launcher, "-m", module, str(spec)] if launcher else [
        sys.executable, "-m", module, str(spec)
    ]  # fmt: skip
    proc = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=240
    )  # fmt: skip
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
        )


def read_ranks(pattern: str, ranks: int) -> list[list[list[int]]]:
    """The batches each rank recorded, from files named by `pattern` with ``{rank}``."""
    return [json.loads(Path(pattern.format(rank=r)).read_text()) for r in range(ranks)]


def global_steps(per_rank: list[list[list[int]]]) -> list[list[int]]:
    """Per training step, the samples of all ranks (rank 0's batch, then rank 1's, ...)."""
    steps = {len(batches) for batches in per_rank}
    assert len(steps) == 1, f"ranks trained different numbers of steps: {steps}"
    return [flat(list(step)) for step in zip(*per_rank, strict=True)]
