"""A tiny Composer training run over `build_dataspec` that records the sample ids each training
step trained: used in-process by the tests and, for 2 processes, as the launched script.

    composer -n 2 -m tests.integrations.composer_app SPEC.json

runs the phases listed in the JSON spec (each a `fit` keyword dict) one after the other.
"""

from __future__ import annotations

import json
import logging
import sys
import warnings
from pathlib import Path
from typing import Any

import torch
from composer import Trainer
from composer.core import Callback, State
from composer.loggers import Logger
from composer.models import ComposerModel
from composer.utils import dist

from streaming.integrations.composer import StreamingCursor, build_dataspec
from tests.integrations.lightning_app import features

warnings.filterwarnings("ignore")
logging.getLogger("composer").setLevel(logging.ERROR)


class Crash(RuntimeError):
    """The simulated crash."""


class CrashAt(Callback):
    """Raise `Crash` once the step numbered `batch` (1-based over the run) has trained."""

    def __init__(self, batch: int) -> None:
        self.batch = batch

    def batch_end(self, state: State, logger: Logger) -> None:
        if int(state.timestamp.batch) == self.batch:
            raise Crash(f"crash after batch {self.batch}")


class IdModel(ComposerModel):
    """A linear model that records the ids of each batch it trains on."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(1, 1)
        self.trained: list[list[int]] = []

    def forward(self, batch: dict[str, Any]) -> torch.Tensor:
        if self.training:
            self.trained.append([int(i) for i in batch["id"]])
        return self.layer(batch["x"])

    def loss(self, outputs: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
        return outputs.pow(2).mean()


def fit(
    data: str,
    *,
    max_duration: str = "2ep",
    save_folder: str | None = None,
    save_interval: str = "3ba",
    load_path: str | None = None,
    crash_at: int | None = None,
    cursor: bool = True,
    record: str | None = None,
    **spec_kwargs: Any,
) -> list[list[int]]:
    """Train (or resume from `load_path`); return the batches of ids this process trained,
    including those of a run that crashed (`Crash` is caught)."""
    spec_kwargs = {
        "batch_size": 4, "shuffle": True, "shuffle_seed": 7, "transform": features, **spec_kwargs
    }  # fmt: skip
    model = IdModel()
    callbacks: list[Callback] = [StreamingCursor()] if cursor else []
    if crash_at is not None:
        callbacks.append(CrashAt(crash_at))
    trainer = Trainer(
        model=model, train_dataloader=build_dataspec(local=data, **spec_kwargs),
        max_duration=max_duration, optimizers=torch.optim.SGD(model.parameters(), lr=0.01),
        device="cpu", save_folder=save_folder, save_interval=save_interval,
        save_filename="ep{epoch}-ba{batch}-rank{rank}.pt", save_overwrite=True,
        load_path=load_path, callbacks=callbacks, progress_bar=False, log_to_console=False,
        loggers=[],
    )  # fmt: skip
    try:
        trainer.fit()
    except Crash:
        pass
    if record is not None:
        Path(record.format(rank=dist.get_global_rank())).write_text(json.dumps(model.trained))
    trainer.close()
    return model.trained


if __name__ == "__main__":
    for phase in json.loads(Path(sys.argv[1]).read_text()):
        fit(**phase)
