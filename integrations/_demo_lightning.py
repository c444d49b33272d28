"""`make demo` with Lightning: the digits CNN trained through `StreamingDataModule`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch import nn

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
from streaming.integrations.lightning import StreamingDataModule


class Classifier(pl.LightningModule):
    """The CNN, logging the sample indices of each step it trains."""

    def __init__(self, log: Path) -> None:
        super().__init__()
        self.cnn = DigitsCNN()
        self.steps = StepLog(log)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss = nn.functional.cross_entropy(self.cnn(batch["image"]), batch["label"])
        self.steps.write(batch["index"], loss)
        self.log("loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        hits = (self.cnn(batch["image"]).argmax(1) == batch["label"]).float().mean()
        self.log("val_acc", hits, prog_bar=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=1e-2)


class _KillAfter(pl.Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        kill_self_after(self.step, trainer.global_step)


def _load_checkpoint(path: str) -> dict[str, Any]:
    """A Lightning checkpoint, loaded with ``weights_only=True``: no code in it runs (it holds
    only tensors and plain Python values, as Lightning itself loads it)."""
    return torch.load(path, weights_only=True)


def train(
    data: str, work: Path, crash_at: int | None, resume: bool = True
) -> tuple[str, dict, nn.Module]:
    """Train, killed after step `crash_at`, or if None resumed from the last checkpoint (or with
    `resume` False, uninterrupted): (checkpoint name, its dataset state, the model; the first
    two empty for an uninterrupted run)."""
    set_up()
    folder = work / "checkpoints"
    resume_from = str(next(folder.glob("*.ckpt"))) if crash_at is None and resume else None
    saved = None if resume_from is None else _load_checkpoint(resume_from)["callbacks"]
    callbacks: list[pl.Callback] = [
        ModelCheckpoint(dirpath=folder, filename="{epoch}-{step}", every_n_train_steps=SAVE_EVERY)
    ]
    if crash_at is not None:
        callbacks.append(_KillAfter(crash_at))
    model = Classifier(work / log_name(crash_at, resume))
    trainer = pl.Trainer(
        accelerator="cpu", max_epochs=EPOCHS, callbacks=callbacks, logger=False,
        enable_model_summary=False, num_sanity_val_steps=0, log_every_n_steps=10,
    )  # fmt: skip
    dm = StreamingDataModule(
        local=data, split="train", val_split="val", transform=to_tensors, num_workers=2, **DATA
    )
    trainer.fit(model, datamodule=dm, ckpt_path=resume_from)
    if crash_at is not None:
        raise RuntimeError(f"the run should have been killed after step {crash_at}")
    if resume_from is None or saved is None:
        return "", {}, model.cnn
    return Path(resume_from).name, saved["StreamingCursor"]["dataset"], model.cnn
