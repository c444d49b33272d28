"""Shared by the packaging tests: the README's training snippets, the tiny data they read, and
a run of one snippet, as written, in a fresh process (``snippet_runner.py``)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from streaming import MDSWriter

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
RUNNER = Path(__file__).with_name("snippet_runner.py")

#: Samples in the snippets' training split: 125 steps of 32 an epoch, so the snippets' checkpoint
#: every 100 steps falls mid-epoch.
TRAIN_SAMPLES = 4000
STEPS_PER_EPOCH = TRAIN_SAMPLES // 32
#: The crashed run is SIGKILLed after this step: mid-epoch, 10 steps past the checkpoint at 100.
KILL_AFTER = 110
RESUMED_FROM = 100


class SnippetNotFound(AssertionError):
    """The README has no snippet under the marker."""


def snippet(name: str, readme: Path | None = None) -> str:
    """The Python code block right after ``<!-- snippet: NAME -->`` in `readme` (README.md)."""
    readme = README if readme is None else readme
    text = readme.read_text()
    match = re.search(
        rf"<!-- snippet: {re.escape(name)} -->\s*```python\n(.*?)```", text, re.DOTALL
    )  # fmt: skip
    if match is None:
        raise SnippetNotFound(
            f"{readme} has no ```python block right after `<!-- snippet: {name} -->`"
        )
    return match.group(1)


def write_data(root: Path) -> Path:
    """``root/data/{train,val}``: samples ``{"id": i}``, as the snippets' ``local="./data"``."""
    data = root / "data"
    for split, ids in (("train", range(TRAIN_SAMPLES)), ("val", range(10_000, 10_064))):
        with MDSWriter(out=str(data / split), columns={"id": "int"}, size_limit=8_000) as w:
            for i in ids:
                w.write({"id": i})
    return data


def uninterrupted_order(data: Path, epochs: int = 2) -> list[list[int]]:
    """The batches of ids an uninterrupted run of the snippets trains: the dataset's order
    (``shuffle=True``, 32 a batch; the same with any number of DataLoader workers)."""
    from torch.utils.data import DataLoader

    from streaming import StreamingDataset

    dataset = StreamingDataset(local=str(data), split="train", shuffle=True, batch_size=32)
    loader = DataLoader(dataset, batch_size=32)
    return [[int(i) for i in batch["id"]] for _ in range(epochs) for batch in loader]


def workdir(base: Path, name: str, data: Path) -> Path:
    """A directory `name` under `base` holding its own copy of `data` as ``./data``."""
    path = base / name
    path.mkdir()
    shutil.copytree(data, path / "data")
    return path


def run_snippet(
    python: str,
    kind: str,
    code: str,
    cwd: Path,
    kill_after: int = 0,
    env: dict[str, str] | None = None,
    runner: Path = RUNNER,
    user_package: bool = False,
) -> tuple[list[list[int]], dict]:
    """Run `code` (the `kind` snippet) with `python` in `cwd`, SIGKILLed after step
    `kill_after` (0: never); with `user_package`, the runner imports the user's own
    ``integrations.lightning`` first and reports on it. Returns the batches of ids each step
    trained and the facts the runner recorded (where ``streaming`` and the adapter were imported
    from...)."""
    (cwd / "snippet.py").write_text(code)
    record = cwd / "trained.jsonl"
    record.unlink(missing_ok=True)
    command = [python, str(runner), kind, "snippet.py", str(record), str(kill_after)]
    if user_package:
        command.append("--user-package")
    proc = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )  # fmt: skip
    expected = -9 if kill_after else 0
    if proc.returncode != expected:
        raise AssertionError(
            f"{' '.join(command)} in {cwd} exited {proc.returncode}, not {expected}:\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
        )
    steps = [json.loads(line) for line in record.read_text().splitlines()]
    facts_file = cwd / "facts.json"
    facts = json.loads(facts_file.read_text()) if facts_file.exists() else {}
    return steps, facts
