"""A tiny Lightning training run over `StreamingDataModule` that records the sample ids each
training step trained: used in-process by the tests and, for DDP, as the launched script.

    python -m tests.integrations.lightning_app SPEC.json

runs the phases listed in the JSON spec one after the other (each a `fit` keyword dict), so a
DDP launch pays its start-up once for an uninterrupted run, a crashed one and a resumed one.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from streaming.integrations.lightning import StreamingDataModule

warnings.filterwarnings("ignore", ".*does not have many workers.*")
warnings.filterwarnings("ignore", ".*The number of training batches.*")
warnings.filterwarnings("ignore", ".*GPU available but not used.*")


class Crash(RuntimeError):
    """The simulated crash."""


def features(sample: dict[str, Any]) -> dict[str, Any]:
    """The per-sample transform: the id, and a feature made from it."""
    return {"id": sample["id"], "x": torch.tensor([sample["id"] % 7 / 7.0])}


class IdModel(pl.LightningModule):
    """A linear model that records the ids of each batch it trains on.

    Args:
        record: File to write this rank's batches to at the end of training (``{rank}`` is
            replaced), or None to keep them in `trained` only.
        estimated: Build a OneCycle schedule from ``trainer.estimated_stepping_batches``.
        crash_at: Raise `Crash` once the step with this ``global_step`` has trained.
    """

    def __init__(
        self, record: str | None = None, estimated: bool = False, crash_at: int | None = None
    ) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(1, 1)
        self.trained: list[list[int]] = []
        self.record = record
        self.estimated = estimated
        self.crash_at = crash_at

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        self.trained.append([int(i) for i in batch["id"]])
        return self.layer(batch["x"]).pow(2).mean()

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.crash_at is not None and self.trainer.global_step == self.crash_at:
            raise Crash(f"crash after step {self.crash_at}")

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self.log("val_loss", self.layer(batch["x"]).pow(2).mean())

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.SGD(self.parameters(), lr=0.01)
        if not self.estimated:
            return optimizer
        total = self.trainer.estimated_stepping_batches  # iterates the train loader early
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 0.1, total_steps=int(total))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def on_train_end(self) -> None:
        if self.record is not None:
            path = Path(self.record.format(rank=self.trainer.global_rank))
            path.write_text(json.dumps(self.trained))


def fit(
    data: str,
    *,
    ckpt_dir: str | None = None,
    ckpt_path: str | None = None,
    every_n_steps: int | None = None,
    every_n_epochs: int | None = None,
    save_on_val_end: bool = False,
    max_steps: int = -1,
    max_epochs: int | None = None,
    crash_at: int | None = None,
    estimated: bool = False,
    record: str | None = None,
    devices: int = 1,
    strategy: str = "auto",
    datamodule: type[StreamingDataModule] = StreamingDataModule,
    **dm_kwargs: Any,
) -> list[list[int]]:
    """Train (or resume from `ckpt_path`); return the batches of ids this process trained,
    including those of a run that crashed (`Crash` is caught)."""
    callbacks: list[pl.Callback] = []
    if ckpt_dir is not None:
        callbacks.append(
            ModelCheckpoint(
                dirpath=ckpt_dir, filename="{epoch}-{step}", save_top_k=-1,
                every_n_train_steps=every_n_steps, every_n_epochs=every_n_epochs,
                save_on_train_epoch_end=not save_on_val_end if every_n_epochs else None,
            )
        )  # fmt: skip
    trainer = pl.Trainer(
        accelerator="cpu", devices=devices, strategy=strategy, max_steps=max_steps,
        max_epochs=max_epochs, callbacks=callbacks, logger=False, enable_progress_bar=False,
        enable_model_summary=False, num_sanity_val_steps=0, enable_checkpointing=bool(ckpt_dir),
    )  # fmt: skip
    model = IdModel(record, estimated, crash_at)
    dm_kwargs = {"batch_size": 4, "shuffle": True, "shuffle_seed": 7, **dm_kwargs}
    dm = datamodule(local=data, transform=features, **dm_kwargs)
    try:
        trainer.fit(model, datamodule=dm, ckpt_path=ckpt_path)
    except Crash:
        pass
    return model.trained


if __name__ == "__main__":
    for phase in json.loads(Path(sys.argv[1]).read_text()):
        fit(**phase)
