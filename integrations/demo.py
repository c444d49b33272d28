"""The training half of ``make demo``: a small CNN learns scikit-learn's digits from MDS shards
through `StreamingDataModule` (or, with ``--composer``, `build_dataspec`); the run is killed
mid-epoch, resumed from its last checkpoint, and the samples trained are checked against the
uninterrupted order; then an uninterrupted run trains too, and the resumed run's loss at every
step and its final weights are checked against it, to the bit.

    python -m streaming.integrations.demo --data build/demo/digits [--composer]

The killed run is a child process (``--crash-at``) that sends itself SIGKILL after a step, as a
preempted machine would: no cleanup, no final checkpoint. Each step's sample indices and loss are
appended to a log as they train, so the record survives the kill. The per-sample transform draws
random noise from ``torch`` the usual way and the CNN has dropout: both are restored exactly
(per-sample seeding, and the RNG states the adapters' callbacks save).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

warnings.filterwarnings("ignore")  # the demo's output is its report

EPOCHS, BATCH, SAVE_EVERY, CRASH_AT = 3, 32, 10, 67
DATA = {"shuffle": True, "shuffle_seed": 17, "batch_size": BATCH}


def to_tensors(sample: dict[str, Any]) -> dict[str, Any]:
    """The per-sample transform: the 8x8 image (values 0-16) as a float tensor, with a little
    random noise (an augmentation, drawn from ``torch``'s global generator)."""
    image = torch.from_numpy(np.array(sample["image"], np.float32) / 16.0)
    image = image + 0.05 * torch.randn(image.shape)
    return {"image": image[None], "label": sample["label"], "index": sample["index"]}


class DigitsCNN(nn.Module):
    """Two 3x3 convolutions and a linear layer: 10 classes from an 8x8 image."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Dropout(0.1), nn.Linear(32 * 2 * 2, 10),
        )  # fmt: skip

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image)


class StepLog:
    """Appends each trained step's sample indices and loss to a file, one JSON line per step
    (the loss as ``float.hex``: exact)."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("a")

    def write(self, indices: torch.Tensor, loss: torch.Tensor) -> None:
        step = {"ids": [int(i) for i in indices], "loss": float(loss.item()).hex()}
        self.file.write(json.dumps(step) + "\n")
        self.file.flush()


def read_log(path: Path) -> list[list[int]]:
    """The sample indices of each step in a `StepLog`."""
    return [json.loads(line)["ids"] for line in path.read_text().splitlines()]


def read_losses(path: Path) -> list[float]:
    """The loss of each step in a `StepLog`."""
    return [float.fromhex(json.loads(line)["loss"]) for line in path.read_text().splitlines()]


def set_up() -> None:
    """What every run does first: seed the global generators, deterministic algorithms."""
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    torch.use_deterministic_algorithms(True)


def log_name(crash_at: int | None, resume: bool) -> str:
    """The `StepLog` file of a run: killed, resumed, or uninterrupted."""
    if crash_at is not None:
        return "steps-crashed.jsonl"
    return "steps-resumed.jsonl" if resume else "steps-uninterrupted.jsonl"


def expected_order(data: str) -> list[list[int]]:
    """The batches an uninterrupted run trains: the dataset's order, read without training."""
    from streaming import StreamingDataLoader, StreamingDataset

    loader = StreamingDataLoader(StreamingDataset(local=data, split="train", **DATA), BATCH)
    return [[int(i) for i in batch["index"]] for _ in range(EPOCHS) for batch in loader]


def kill_self_after(step: int, current: int) -> None:
    if current == step:
        os.kill(os.getpid(), signal.SIGKILL)  # a crash: nothing after this line runs


def accuracy(model: nn.Module, data: str) -> float:
    """Accuracy on the validation split."""
    from streaming import StreamingDataLoader, StreamingDataset

    loader = StreamingDataLoader(StreamingDataset(local=data, split="val", batch_size=100), 100)
    correct = total = 0
    model.eval()
    with torch.no_grad():
        for batch in loader:
            images = torch.from_numpy(np.asarray(batch["image"], np.float32) / 16.0)[:, None]
            correct += int((model(images).argmax(1) == batch["label"]).sum())
            total += len(batch["label"])
    return correct / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True, help="MDS digits with train/ and val/ splits")
    parser.add_argument("--work", help="checkpoints and logs (default: beside --data)")
    parser.add_argument("--composer", action="store_true", help="train with Composer")
    parser.add_argument("--crash-at", type=int, help=argparse.SUPPRESS)  # the killed child
    parser.add_argument("--uninterrupted", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = Path(
        args.work or Path(args.data).parent / ("composer" if args.composer else "lightning")
    )
    if args.composer:
        from streaming.integrations._demo_composer import train
    else:
        from streaming.integrations._demo_lightning import train
    if args.crash_at is not None:
        train(args.data, work, crash_at=args.crash_at)
        return
    if args.uninterrupted:
        _, _, model = train(args.data, work, crash_at=None, resume=False)
        torch.save(model.state_dict(), work / "weights.pt")
        return
    demo(args, work, train)


def demo(args: argparse.Namespace, work: Path, train: Any) -> None:
    """Run the child that gets killed, resume here, and report."""
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    per_epoch = -(-1497 // BATCH)
    print(
        f"\n== training a CNN with {'Composer' if args.composer else 'Lightning'}: {EPOCHS} "
        f"epochs of {per_epoch} steps (batch {BATCH}), a checkpoint every {SAVE_EVERY} steps =="
    )
    start = time.perf_counter()
    command = [
        sys.executable, "-m", "streaming.integrations.demo",
        "--data", args.data, "--work", str(work),
    ]
    command += ["--crash-at", str(CRASH_AT)] + (["--composer"] if args.composer else [])
    child = subprocess.run(command)
    if child.returncode != -signal.SIGKILL:
        raise SystemExit(
            f"demo: the training run should have been killed (exit {child.returncode})"
        )
    crashed = read_log(work / "steps-crashed.jsonl")
    epoch, step = divmod(len(crashed), per_epoch)
    print(
        f"\n-- killed (SIGKILL) after step {len(crashed)} (epoch {epoch}, step {step} of "
        f"{per_epoch}); resuming from the last checkpoint in a new process --"
    )
    checkpoint, state, model = train(args.data, work, crash_at=None)
    resumed = read_log(work / "steps-resumed.jsonl")
    seconds = time.perf_counter() - start
    report(expected_order(args.data), crashed, resumed, checkpoint, state)
    print(f"validation accuracy {accuracy(model, args.data):.1%} (trained in {seconds:.0f} s)")
    print("\n-- an uninterrupted run, in a new process, to compare losses and weights --")
    reference = work / "uninterrupted"
    reference.mkdir()
    command = [*command[: command.index("--work") + 1], str(reference), "--uninterrupted"]
    command += ["--composer"] if args.composer else []
    if subprocess.run(command).returncode != 0:
        raise SystemExit("demo: the uninterrupted run failed")
    compare_training(
        read_losses(reference / "steps-uninterrupted.jsonl"),
        read_losses(work / "steps-resumed.jsonl"),
        torch.load(reference / "weights.pt", weights_only=True), model.state_dict(),
    )  # fmt: skip


def compare_training(
    full: list[float],
    resumed: list[float],
    full_weights: dict[str, torch.Tensor],
    resumed_weights: dict[str, torch.Tensor],
) -> None:
    """Check the resumed run's losses (its last steps) and final weights against the
    uninterrupted run's, to the bit, and say so."""
    kept = len(full) - len(resumed)
    for step, (a, b) in enumerate(zip(full[kept:], resumed, strict=True), kept + 1):
        if a != b:
            raise SystemExit(
                f"demo: step {step} after the resume has loss {b!r}, the uninterrupted run "
                f"{a!r}: the resumed training differs"
            )
    different = [
        name for name, value in full_weights.items()
        if not torch.equal(value, resumed_weights[name])
    ]  # fmt: skip
    if different:
        raise SystemExit(f"demo: final weights differ from the uninterrupted run's: {different}")
    print(
        f"losses of steps {kept + 1}-{len(full)} == the uninterrupted run's, bit for bit; "
        f"final weights ({len(full_weights)} tensors) identical to the bit"
    )


def report(
    expected: list[list[int]],
    crashed: list[list[int]],
    resumed: list[list[int]],
    checkpoint: str,
    state: dict[str, Any],
) -> None:
    """Check the steps trained before the checkpoint plus after the resume against the
    `expected` uninterrupted order, and say so."""
    kept = len(expected) - len(resumed)  # the steps the checkpoint holds
    trained = crashed[:kept] + resumed
    samples = [i for step in trained for i in step]
    print(f"\nresumed from {checkpoint} (step {kept}), dataset state {state}")
    print(
        f"steps {kept + 1}-{len(crashed)} ran after that checkpoint and died with the process: "
        "they were trained again after the resume, as in any restart from a checkpoint"
    )
    if trained != expected:
        first = next(i for i, (a, b) in enumerate(zip(trained, expected, strict=False)) if a != b)
        raise SystemExit(
            f"demo: step {first + 1} trained {trained[first]}, the uninterrupted run "
            f"{expected[first]}: the resume lost or repeated samples"
        )
    per_epoch = len(samples) // EPOCHS
    epochs = [sorted(samples[e * per_epoch : (e + 1) * per_epoch]) for e in range(EPOCHS)]
    if any(epoch != list(range(1497)) for epoch in epochs):
        raise SystemExit("demo: an epoch did not train every training digit exactly once")
    print(
        f"trained {len(samples)} samples in {len(trained)} steps == the uninterrupted order, "
        "step for step: none lost, none repeated (each epoch: all 1497 training digits once)"
    )


if __name__ == "__main__":
    main()
