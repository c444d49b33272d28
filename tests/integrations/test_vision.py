"""The device image path in both trainers, on the CPU (CI has no GPU): a reader hands out
JPEG bytes and sample ids, the device transform decodes and augments after the transfer."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from streaming.datasets import StreamingImageNet
from streaming.integrations.vision import image_device_transform
from streaming.vision import ImageBatchPipeline
from tests.datasets import _raw
from tests.datasets._support import run


@pytest.fixture(scope="module")
def imagenet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("imagenet")
    _raw.imagenet(root / "raw")
    run("imagenet", root / "raw", root / "mds")
    return root / "mds"


def test_transform_replaces_bytes_by_a_seeded_batch(imagenet: Path) -> None:
    ds = StreamingImageNet(
        local=str(imagenet), split="train", decode="none", with_sample_id=True, batch_size=4
    )
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    images, labels, ids = batch
    assert isinstance(images[0], bytes) and ids.tolist() == [0, 1, 2, 3]
    pipeline = ImageBatchPipeline(size=16, seed=1)
    apply = image_device_transform(pipeline)
    out = apply(batch, 0)
    assert out[0].shape == (4, 3, 16, 16) and torch.equal(out[1], labels)
    assert torch.equal(apply(batch, 0)[0], out[0])
    shapes = [(16, 24)] * 4  # the replica's images: seeds by sample id and epoch
    assert pipeline.params(shapes, ids.tolist(), 0) != pipeline.params(shapes, ids.tolist(), 1)
    with pytest.raises(KeyError, match="with_sample_id=True"):
        image_device_transform(ImageBatchPipeline(), id_key="sample_id")(batch, 0)


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.LazyLinear(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def test_lightning_decodes_after_the_transfer(imagenet: Path, tmp_path: Path) -> None:
    import lightning.pytorch as pl

    from streaming.integrations.lightning import StreamingDataModule

    seen: list[tuple[int, ...]] = []

    class Module(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.model = Tiny()

        def training_step(self, batch, batch_idx):  # noqa: ANN001, ANN201
            images, labels, _ = batch
            seen.append(tuple(images.shape))
            return nn.functional.cross_entropy(self.model(images), labels)

        def configure_optimizers(self):  # noqa: ANN201
            return torch.optim.SGD(self.parameters(), lr=0.1)

    dm = StreamingDataModule(
        local=str(imagenet), split="train", batch_size=2, shuffle=True,
        dataset_class=StreamingImageNet,
        reader_options={"decode": "none", "with_sample_id": True},
        device_transform=image_device_transform(ImageBatchPipeline(size=16)),
    )  # fmt: skip
    trainer = pl.Trainer(
        accelerator="cpu", max_steps=2, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, default_root_dir=str(tmp_path),
    )
    trainer.fit(Module(), datamodule=dm)
    assert seen == [(2, 3, 16, 16)] * 2


def test_composer_decodes_in_batch_transforms(imagenet: Path, tmp_path: Path) -> None:
    from composer import Trainer
    from composer.models import ComposerModel

    from streaming.integrations.composer import build_dataspec

    spec = build_dataspec(
        local=str(imagenet), split="train", batch_size=2, shuffle=True,
        dataset_class=StreamingImageNet, decode="none", with_sample_id=True,
        device_transform=image_device_transform(ImageBatchPipeline(size=16)),
    )  # fmt: skip
    shapes: list[tuple[int, ...]] = []

    class Model(ComposerModel):
        def __init__(self) -> None:
            super().__init__()
            self.net = Tiny()

        def forward(self, batch):  # noqa: ANN001, ANN201 - (image, label, sample_id)
            shapes.append(tuple(batch[0].shape))
            return self.net(batch[0])

        def loss(self, outputs, batch):  # noqa: ANN001, ANN201
            return nn.functional.cross_entropy(outputs, batch[1])

    model = Model()
    trainer = Trainer(
        model=model, train_dataloader=spec, max_duration="2ba", device="cpu",
        save_folder=None, progress_bar=False, log_to_console=False,
    )  # fmt: skip
    trainer.fit()
    assert shapes[:2] == [(2, 3, 16, 16)] * 2
