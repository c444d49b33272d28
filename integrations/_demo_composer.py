"""`make demo --composer`: the digits CNN trained through `build_dataspec`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from composer import Trainer
from composer.core import Callback, State
from composer.loggers import Logger
from composer.models import ComposerModel
from torch import nn

from streaming.integrations.composer import StreamingCursor, build_dataspec
from streaming.integrations.demo import (
    DATA,
    EPOCHS,
    SAVE_EVERY,
    DigitsCNN,
    StepLog,
    kill_self_after,
    log_name,
    set_up,
    to_tensors,
)  # fmt: skip


class Classifier(ComposerModel):
    """The CNN, logging the sample indices of each step it trains."""

    def __init__(self, log: Path) -> None:
        super().__init__()
        self.cnn = DigitsCNN()
        self.steps = StepLog(log)

    def forward(self, batch: dict[str, Any]) -> torch.Tensor:
        return self.cnn(batch["image"])

    def loss(self, outputs: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
        loss = nn.functional.cross_entropy(outputs, batch["label"])
        self.steps.write(batch["index"], loss)
        return loss


class _KillAfter(Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def batch_checkpoint(self, state: State, logger: Logger) -> None:
        kill_self_after(self.step, int(state.timestamp.batch))


def _load_checkpoint(path: str) -> dict[str, Any]:
    """A Composer checkpoint, loaded with ``weights_only=True``: no code in it runs. Besides
    tensors it holds a `timedelta` (run time), the torch version and NumPy's RNG state (a uint32
    array), so exactly those types are allowed, for this load only."""
    import datetime

    import numpy as np
    from torch.torch_version import TorchVersion

    reconstruct = np.zeros(0).__reduce__()[0]  # numpy's _reconstruct, under its own module
    allowed = [datetime.timedelta, TorchVersion, np.ndarray, np.dtype, np.dtypes.UInt32DType]
    allowed.append(reconstruct)
    with torch.serialization.safe_globals(allowed):
        return torch.load(path, weights_only=True)


def train(
    data: str, work: Path, crash_at: int | None, resume: bool = True
) -> tuple[str, dict, nn.Module]:
    """Train, killed after step `crash_at`, or if None resumed from the last checkpoint (or with
    `resume` False, uninterrupted): (checkpoint name, its dataset state, the model; the first
    two empty for an uninterrupted run)."""
    set_up()
    folder = work / "checkpoints"
    latest = folder / "latest-rank0.pt"
    resume_from = str(latest.resolve()) if crash_at is None and resume else None
    state = None if resume_from is None else _load_checkpoint(resume_from)["state"]
    callbacks: list[Callback] = [StreamingCursor()]
    if crash_at is not None:
        callbacks.append(_KillAfter(crash_at))
    model = Classifier(work / log_name(crash_at, resume))
    trainer = Trainer(
        model=model, max_duration=f"{EPOCHS}ep", device="cpu", callbacks=callbacks, seed=0,
        train_dataloader=build_dataspec(
            local=data, split="train", transform=to_tensors, num_workers=2, **DATA
        ),
        optimizers=torch.optim.Adam(model.parameters(), lr=1e-2), save_folder=str(folder),
        save_interval=f"{SAVE_EVERY}ba", save_num_checkpoints_to_keep=1, load_path=resume_from,
        progress_bar=True, log_to_console=False, loggers=[],
    )  # fmt: skip
    trainer.fit()
    trainer.close()
    if crash_at is not None:
        raise RuntimeError(f"the run should have been killed after step {crash_at}")
    if resume_from is None or state is None:
        return "", {}, model.cnn
    return Path(resume_from).name, state["dataset_state"]["train"], model.cnn
