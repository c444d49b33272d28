"""Bit-identical training after a resume, on both trainers: the loss of every step after the
resume equals the uninterrupted run's, and the final weights are equal to the bit.

The run is sensitive to every random state a resume could lose: the per-sample transform draws
from ``torch``, ``numpy.random`` and ``random`` (written the usual way, with no seeding of its
own), and the model has dropout (the trainer process's ``torch`` generator). Cases: a resume
mid-epoch, at an epoch's end, with 2 DataLoader workers, and on 2 processes (DDP on CPU, gloo).

The module is also the launched script of the 2-process cases:

    python -m tests.integrations.test_exact_training SPEC.json
"""

from __future__ import annotations

import json
import random
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tests.integrations._support import run_phases

APP = "tests.integrations.test_exact_training"
COMPOSER = str(Path(sys.executable).parent / "composer")

warnings.filterwarnings("ignore", ".*does not have many workers.*")
warnings.filterwarnings("ignore", ".*The number of training batches.*")
warnings.filterwarnings("ignore", ".*GPU available but not used.*")


def noisy(sample: dict[str, Any]) -> dict[str, Any]:
    """A per-sample transform written the usual way: it draws from the three global generators."""
    jitter = torch.rand(()).item() + float(np.random.rand()) + random.random()
    return {"id": sample["id"], "x": torch.tensor([sample["id"] % 7 / 7.0, jitter])}


def net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(16, 1)
    )


def weights(model: torch.nn.Module) -> dict[str, str]:
    """Each parameter's bytes (hex): equal means equal to the bit."""
    return {k: v.detach().numpy().tobytes().hex() for k, v in model.state_dict().items()}


def _seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def lightning_fit(
    data: str, *, max_steps: int, ckpt_dir: str | None = None, every_n_steps: int | None = None,
    every_n_epochs: int | None = None, ckpt_path: str | None = None, devices: int = 1,
    strategy: str = "auto", num_workers: int = 0, record: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Train with Lightning (or resume from `ckpt_path`) up to `max_steps`: this rank's losses
    and final weights."""
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import ModelCheckpoint

    from streaming.integrations.lightning import StreamingDataModule

    class Module(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = net()
            self.losses: list[float] = []

        def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
            loss = self.net(batch["x"]).pow(2).mean()
            self.losses.append(loss.item())
            return loss

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.05, momentum=0.9)

    _seed_all(17)
    callbacks: list[Any] = []
    if ckpt_dir is not None:
        callbacks.append(ModelCheckpoint(
            dirpath=ckpt_dir, filename="{epoch}-{step}", save_top_k=-1,
            every_n_train_steps=every_n_steps, every_n_epochs=every_n_epochs,
            save_on_train_epoch_end=True if every_n_epochs else None,
        ))  # fmt: skip
    trainer = pl.Trainer(
        accelerator="cpu", devices=devices, strategy=strategy, max_steps=max_steps,
        callbacks=callbacks, logger=False, enable_progress_bar=False, deterministic=True,
        enable_model_summary=False, enable_checkpointing=bool(ckpt_dir),
    )  # fmt: skip
    module = Module()
    dm = StreamingDataModule(
        local=data, batch_size=4, shuffle=True, shuffle_seed=7, transform=noisy,
        num_workers=num_workers,
    )  # fmt: skip
    trainer.fit(module, datamodule=dm, ckpt_path=ckpt_path)
    out = {"losses": module.losses, "weights": weights(module.net)}
    if record is not None:
        Path(record.format(rank=trainer.global_rank)).write_text(json.dumps(out))
    return out


def composer_fit(
    data: str, *, max_duration: str, save_folder: str | None = None, save_interval: str = "1ep",
    load_path: str | None = None, num_workers: int = 0, record: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Train with Composer (or resume from `load_path`) for `max_duration`: this rank's losses
    and final weights."""
    import logging

    from composer import Trainer
    from composer.models import ComposerModel
    from composer.utils import dist

    from streaming.integrations.composer import StreamingCursor, build_dataspec

    logging.getLogger("composer").setLevel(logging.ERROR)

    class Model(ComposerModel):
        def __init__(self) -> None:
            super().__init__()
            self.net = net()
            self.losses: list[float] = []

        def forward(self, batch: dict[str, Any]) -> torch.Tensor:
            return self.net(batch["x"])

        def loss(self, outputs: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
            loss = outputs.pow(2).mean()
            self.losses.append(loss.item())
            return loss

    _seed_all(17)
    model = Model()
    spec = build_dataspec(
        local=data, batch_size=4, shuffle=True, shuffle_seed=7, transform=noisy,
        num_workers=num_workers,
    )  # fmt: skip
    trainer = Trainer(
        model=model, train_dataloader=spec, max_duration=max_duration, seed=17,
        optimizers=torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9), device="cpu",
        save_folder=save_folder, save_interval=save_interval, save_overwrite=True,
        save_filename="ep{epoch}-ba{batch}-rank{rank}.pt", load_path=load_path,
        callbacks=[StreamingCursor(log_metrics=False)], progress_bar=False,
        log_to_console=False, loggers=[], deterministic_mode=True,
    )  # fmt: skip
    trainer.fit()
    out = {"losses": model.losses, "weights": weights(model.net)}
    if record is not None:
        Path(record.format(rank=dist.get_global_rank())).write_text(json.dumps(out))
    trainer.close()
    return out


def check_exact(full: dict[str, Any], resumed: dict[str, Any], at: int) -> None:
    """The resumed run's losses are the uninterrupted run's after step `at`, bit for bit, and
    so are the final weights."""
    assert len(full["losses"]) > at and resumed["losses"] == full["losses"][at:]
    assert resumed["weights"] == full["weights"]


@pytest.fixture(autouse=True)
def _deterministic() -> Any:
    torch.use_deterministic_algorithms(True)
    yield
    torch.use_deterministic_algorithms(False)


# ---- Lightning --------------------------------------------------------------------------------

# 60 samples, batch 4: an epoch is 15 steps; the runs train 20.


@pytest.mark.parametrize(
    ("save", "at", "workers"),
    [
        ({"every_n_steps": 7}, 7, 0),  # mid-epoch
        ({"every_n_epochs": 1}, 15, 0),  # at the epoch's end
        ({"every_n_steps": 7}, 7, 2),  # 2 DataLoader workers
    ],
    ids=["mid-epoch", "epoch-end", "2-workers"],
)
def test_lightning_resume_is_bit_identical(
    ids_data: str, tmp_path: Path, save: dict[str, int], at: int, workers: int
) -> None:
    full = lightning_fit(ids_data, max_steps=20, num_workers=workers)
    again = lightning_fit(ids_data, max_steps=20, num_workers=workers)
    assert again == full  # two uninterrupted runs agree (the comparison is meaningful)
    ckpt = tmp_path / "ckpt"
    first = lightning_fit(ids_data, max_steps=at, ckpt_dir=str(ckpt), num_workers=workers, **save)
    assert first["losses"] == full["losses"][:at]
    path = ckpt / f"epoch={at // 15 if 'every_n_steps' in save else 0}-step={at}.ckpt"
    resumed = lightning_fit(ids_data, max_steps=20, ckpt_path=str(path), num_workers=workers)
    check_exact(full, resumed, at)


@pytest.mark.slow
def test_lightning_ddp_resume_is_bit_identical(ids_data: str, tmp_path: Path) -> None:
    common = {"data": ids_data, "devices": 2, "strategy": "ddp"}
    run_phases(APP, [
        {"trainer": "lightning", **common, "max_steps": 12,
         "record": str(tmp_path / "full-{rank}")},
        {"trainer": "lightning", **common, "max_steps": 5, "ckpt_dir": str(tmp_path / "ckpt"),
         "every_n_steps": 5, "record": str(tmp_path / "first-{rank}")},
        {"trainer": "lightning", **common, "max_steps": 12,
         "record": str(tmp_path / "resumed-{rank}"),
         "ckpt_path": str(tmp_path / "ckpt" / "epoch=0-step=5.ckpt")},
    ], tmp_path)  # fmt: skip
    for rank in (0, 1):
        full = json.loads((tmp_path / f"full-{rank}").read_text())
        resumed = json.loads((tmp_path / f"resumed-{rank}").read_text())
        check_exact(full, resumed, 5)


# ---- Composer ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "workers"), [(7, 0), (15, 0), (7, 2)], ids=["mid-epoch", "epoch-end", "2-workers"]
)
def test_composer_resume_is_bit_identical(
    ids_data: str, tmp_path: Path, at: int, workers: int
) -> None:
    full = composer_fit(ids_data, max_duration="20ba", num_workers=workers)
    again = composer_fit(ids_data, max_duration="20ba", num_workers=workers)
    assert again == full
    folder = tmp_path / "ckpt"
    first = composer_fit(
        ids_data, max_duration=f"{at}ba", save_folder=str(folder), save_interval=f"{at}ba",
        num_workers=workers,
    )  # fmt: skip
    assert first["losses"] == full["losses"][:at]
    (path,) = folder.glob(f"ep*-ba{at}-rank0.pt")
    resumed = composer_fit(
        ids_data, max_duration="20ba", load_path=str(path), num_workers=workers
    )  # fmt: skip
    check_exact(full, resumed, at)


@pytest.mark.slow
def test_composer_two_process_resume_is_bit_identical(ids_data: str, tmp_path: Path) -> None:
    folder = tmp_path / "ckpt"
    run_phases(APP, [
        {"trainer": "composer", "data": ids_data, "max_duration": "12ba",
         "record": str(tmp_path / "full-{rank}")},
        {"trainer": "composer", "data": ids_data, "max_duration": "5ba", "save_interval": "5ba",
         "save_folder": str(folder), "record": str(tmp_path / "first-{rank}")},
        {"trainer": "composer", "data": ids_data, "max_duration": "12ba",
         "load_path": str(folder / "ep0-ba5-rank0.pt"),
         "record": str(tmp_path / "resumed-{rank}")},
    ], tmp_path, COMPOSER, "-n", "2")  # fmt: skip
    for rank in (0, 1):
        full = json.loads((tmp_path / f"full-{rank}").read_text())
        resumed = json.loads((tmp_path / f"resumed-{rank}").read_text())
        check_exact(full, resumed, 5)


if __name__ == "__main__":
    torch.use_deterministic_algorithms(True)
    for phase in json.loads(Path(sys.argv[1]).read_text()):
        kind = phase.pop("trainer")
        (lightning_fit if kind == "lightning" else composer_fit)(**phase)
