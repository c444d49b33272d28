"""The recipes and fragments load and check; wrong settings are errors naming their key; the
reference models' objectives do what they say."""

from __future__ import annotations

import pytest
import torch

from streaming.config import RecipeError, TrainConfig, check_recipe, load_recipe
from streaming.config.check import DATASETS, precision_for
from streaming.integrations.recipes.data import plan_data
from streaming.integrations.recipes.models import MODELS, build_model
from tests.recipes._support import RECIPES, REPO


def load(recipe: str, *overrides: str, include: tuple[str, ...] = ()) -> TrainConfig:
    return check_recipe(load_recipe(str(REPO / "recipes" / f"{recipe}.yaml"), overrides, include))


def test_there_is_a_recipe_per_dataset() -> None:
    assert RECIPES == [
        "ade20k", "c4", "cifar10", "coco", "enwiki", "imagenet", "laion400m", "pile", "webvid",
    ]  # fmt: skip
    names = {load(r).train_loader.dataset.name for r in RECIPES}
    assert names == set(DATASETS)


@pytest.fixture(autouse=True)
def _default_places(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STREAMING_DATA", raising=False)
    monkeypatch.delenv("STREAMING_CACHE", raising=False)


@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_loads_as_written(recipe: str) -> None:
    cfg = load(recipe)
    dataset = cfg.train_loader.dataset
    assert cfg.model.name in MODELS
    assert dataset.local == f"./data/{cfg.variables['dataset']}"
    assert dataset.remote is None and dataset.shuffle and dataset.split == "train"
    assert cfg.seed == dataset.shuffle_seed == cfg.variables["global_seed"]
    assert cfg.autoresume and cfg.save_folder == f"./checkpoints/{cfg.run_name}"
    if cfg.eval_loader is not None:
        assert cfg.eval_loader.dataset.split == "val"


def test_model_fragments_name_every_model() -> None:
    names = {p.stem for p in (REPO / "configs" / "models").glob("*.yaml")}
    assert names == set(MODELS)


@pytest.mark.parametrize(
    ("profile", "extra", "url"),
    [
        ("s3", [], "s3://bkt/datasets/imagenet"),
        ("gcs", [], "gs://bkt/datasets/imagenet"),
        ("oci", ["variables.namespace=ns"], "oci://bkt@ns/datasets/imagenet"),
        ("azure", [], "azure://bkt/datasets/imagenet"),
    ],
)
def test_storage_profiles(profile: str, extra: list[str], url: str) -> None:
    fragment = f"configs/storage/{profile}.yaml"
    cfg = load("imagenet", "variables.bucket=bkt", *extra, include=(fragment,))
    for loader in (cfg.train_loader, cfg.eval_loader):
        assert loader.dataset.remote == url and loader.dataset.download_retry == 4
        assert loader.dataset.local is None  # the per-user cache, never a shared /tmp path
    assert cfg.train_loader.dataset.cache_limit == "500gb"
    with pytest.raises(RecipeError, match="Missing mandatory value: variables.bucket"):
        load("imagenet", include=(fragment,))


@pytest.mark.parametrize(
    ("fragment", "kind", "accelerator", "precision"),
    [
        ("lightning_cpu", "lightning", "cpu", None),
        ("lightning_gpu", "lightning", "gpu", "bf16-mixed"),
        ("composer_cpu", "composer", "cpu", None),
        ("composer_gpu", "composer", "gpu", "amp_bf16"),
    ],
)
def test_trainer_fragments(fragment: str, kind: str, accelerator: str, precision: str) -> None:
    cfg = load("c4", include=(f"configs/trainers/{fragment}.yaml",))
    trainer = cfg.trainer
    assert (trainer.kind, trainer.accelerator, trainer.precision) == (kind, accelerator, precision)
    assert precision_for("lightning", precision) in ("32-true", "bf16-mixed")
    assert precision_for("composer", precision) in ("fp32", "amp_bf16")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["train_loader.dataset.shufle=true"], r"dataset.shufle.*Did you mean.*shuffle"),
        (["global_train_batch_sise=8"], r"global_train_batch_sise.*global_train_batch_size"),
        (["max_duration=two"], r"max_duration: Duration 'two'"),
        (["save_interval=0ba"], r"save_interval: Duration '0ba'"),
        (["trainer.kind=keras"], r"trainer.kind: 'keras' is not one of lightning, composer"),
        (["trainer.precision=bf16"], r"trainer.precision: 'bf16'.*did you mean 'amp_bf16'"),
        (["optimizer.name=adam_w"], r"optimizer.name: 'adam_w'.*did you mean 'adamw'"),
        (["train_loader.dataset.decode=gpu"], r"train_loader.dataset.decode: 'gpu'"),
        (["train_loader.dataset.name=imagenet2"], r"train_loader.dataset.name: 'imagenet2'"),
        (["eval_loader.dataset.name=cifar10"], r"eval_loader.dataset.name: 'cifar10' is not"),
        (["trainer.devices=3"], r"global_train_batch_size: 256 does not divide over 3 device"),
        (["train_loader.num_workers=many"],
         r"^override `train_loader.num_workers=many`: train_loader.num_workers: 'many' is not an "
         r"integer$"),
        (["global_train_batch_size=abc"],
         r"^override `global_train_batch_size=abc`: global_train_batch_size: 'abc' is not an "
         r"integer$"),
        (["optimizer.lr=fast"], r"^override `optimizer.lr=fast`: optimizer.lr: 'fast' is not a "
         r"number$"),
        (["variables.image_size=big"],
         r"^override `variables.image_size=big`: train_loader.dataset.image_size: .*'big' is not "
         r"an integer$"),
        (["save_num_checkpoints_to_keep=0"],
         r"^save_num_checkpoints_to_keep: 0 is not -1 \(keep all\) or a count of 1 or more"),
        (["loggers.wandb={}"], r"^loggers.wandb: 'wandb' is not one of csv, tensorboard"),
        (["loggers.csv.dir=x"], r"^loggers.csv.dir: unknown setting; csv takes log_dir$"),
        (["train_loader.dataset.validate_hash=md6"],
         r"^train_loader.dataset.validate_hash: 'md6' is not one of auto, "),
        (["save_folder=null"], r"autoresume: resumes from the latest checkpoint in save_folder"),
        (["save_overwrite=true"], r"save_overwrite: cannot be true with autoresume"),
        (["train_loader.dataset.max_seq_len=8"], r"train_loader.dataset.max_seq_len: imagenet"),
        (["train_loader.dataset.streams.a={local: /x}"], r"train_loader.dataset: give either"),
    ],
)
def test_wrong_settings_name_their_key(overrides: list[str], message: str) -> None:
    with pytest.raises(RecipeError, match=message):
        load("imagenet", *overrides)


def test_device_decode_is_for_classification() -> None:
    load("cifar10", "train_loader.dataset.decode=device")
    with pytest.raises(RecipeError, match=r"train_loader.dataset.decode: 'device' decodes"):
        load("ade20k", "train_loader.dataset.decode=device")
    with pytest.raises(RecipeError, match=r"train_loader.dataset.image_size: c4 has no images"):
        load("c4", "train_loader.dataset.image_size=32")


def test_unknown_model_names_the_key() -> None:
    with pytest.raises(RecipeError, match=r"model.name: unknown model 'resnet'; one of tiny_cnn"):
        build_model("resnet")
    with pytest.raises(RecipeError, match=r"model.kwargs: tiny_cnn: .*'colour'"):
        build_model("tiny_cnn", colour=1)


def test_the_data_decides_the_model_sizes() -> None:
    c4 = load("c4", "variables.max_seq_len=64")
    text = plan_data(c4.train_loader.dataset, train=True)
    assert text.model_defaults == {"vocab_size": 259, "max_seq_len": 64}
    assert text.reader_options == {"tokenizer_name": "bytes", "max_seq_len": 64}
    clip = plan_data(load("laion400m").train_loader.dataset, train=True)
    assert clip.model_defaults == {"vocab_size": 259, "max_text_len": 77, "pad_id": 0}
    assert clip.reader_options["with_sample_id"] and clip.reader_options["max_caption_len"] == 77
    video = plan_data(load("webvid").train_loader.dataset, train=True)
    assert video.reader_options["num_frames"] == 8


def test_detector_targets_are_the_categories_and_the_largest_box() -> None:
    model = build_model("tiny_detector", width=4, depth=1)
    batch = {
        "image": torch.zeros(2, 3, 8, 8),
        "boxes": [torch.tensor([[0.0, 0.0, 0.2, 0.2], [0.1, 0.1, 0.9, 0.5]]), torch.zeros(0, 4)],
        "labels": [torch.tensor([3, 80]), torch.zeros(0, dtype=torch.int64)],
    }
    presence, largest, has_box = model.targets(batch)  # type: ignore[operator]
    assert presence[0].nonzero().flatten().tolist() == [2, 79] and presence[1].sum() == 0
    assert largest[0].tolist() == pytest.approx([0.1, 0.1, 0.9, 0.5])
    assert has_box.tolist() == [True, False]
    assert torch.isfinite(model.loss(model(batch), batch))


def test_segmenter_ignores_other_and_lm_ignores_padding() -> None:
    seg = build_model("tiny_segnet", num_classes=3, width=4, depth=1)
    image = torch.zeros(1, 3, 4, 4)
    outputs = seg({"image": image})
    assert outputs.shape == (1, 3, 4, 4)
    assert seg.loss(outputs, {"image": image, "mask": torch.zeros(1, 4, 4)}).item() == 0.0
    lm = build_model("tiny_gpt", vocab_size=10, max_seq_len=6, dim=8, heads=2, layers=1)
    ids = torch.tensor([[1, 5, 6, 0, 0, 0]])
    logits = lm({"input_ids": ids})
    assert logits.shape == (1, 6, 10)
    expected = torch.nn.functional.cross_entropy(logits[0, :2], ids[0, 1:3])
    loss = lm.loss(logits, {"input_ids": ids, "attention_mask": (ids > 0).long()})
    assert loss.item() == pytest.approx(expected.item())
