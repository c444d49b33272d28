"""Training with mosaicml-streaming 0.13 under Composer 0.32.1, as llm-foundry does: the peer's
`StreamingDataset` in a plain DataLoader handed to `composer.Trainer`, which saves
``dataset.state_dict(sample_in_epoch, True)`` in every checkpoint.

Run in the peer's own venv (never imported by our tests: its ``streaming`` is the peer's):

    python _peer_composer.py DATA SAVE_FOLDER MAX_DURATION SAVE_AT

trains on DATA (samples ``{"id", "pad"}``, batches of 4, shuffled with seed 7) for MAX_DURATION
without stopping, saves ``ep{epoch}-ba{batch}-rank0.pt`` in SAVE_FOLDER at each point of SAVE_AT
(comma-separated: ``6ba`` after batch 6, ``1ep`` at the end of epoch 1), and prints the batches
of ids it trained as JSON. The model is the same as ``tests.integrations.composer_app.IdModel``
(a ``Linear(1, 1)`` named ``layer`` fed ``id % 7 / 7``), so our side loads these checkpoints.
"""

from __future__ import annotations

import json
import logging
import sys
import warnings
from typing import Any

import torch
from composer import Trainer
from composer.core import Event, State
from composer.models import ComposerModel
from torch.utils.data import DataLoader

from streaming import StreamingDataset  # the peer's: this runs in its venv

warnings.filterwarnings("ignore")
logging.getLogger("composer").setLevel(logging.ERROR)


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


def collate(samples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
    ids = [int(s["id"]) for s in samples]
    return {"id": torch.tensor(ids), "x": torch.tensor([[i % 7 / 7.0] for i in ids])}


def main(data: str, save_folder: str, max_duration: str, save_at: str) -> None:
    batches = {int(p[:-2]) for p in save_at.split(",") if p.endswith("ba")}
    epochs = {int(p[:-2]) for p in save_at.split(",") if p.endswith("ep")}

    def save_interval(state: State, event: Event) -> bool:
        if event == Event.BATCH_CHECKPOINT:
            return int(state.timestamp.batch) in batches
        return event == Event.EPOCH_CHECKPOINT and int(state.timestamp.epoch) in epochs

    dataset = StreamingDataset(local=data, shuffle=True, shuffle_seed=7, batch_size=4)
    model = IdModel()
    trainer = Trainer(
        model=model, train_dataloader=DataLoader(dataset, batch_size=4, collate_fn=collate),
        max_duration=max_duration, optimizers=torch.optim.SGD(model.parameters(), lr=0.01),
        device="cpu", save_folder=save_folder, save_interval=save_interval,
        save_filename="ep{epoch}-ba{batch}-rank{rank}.pt", save_overwrite=True,
        progress_bar=False, log_to_console=False, loggers=[],
    )  # fmt: skip
    trainer.fit()
    trainer.close()
    print(json.dumps(model.trained))


if __name__ == "__main__":
    main(*sys.argv[1:5])
