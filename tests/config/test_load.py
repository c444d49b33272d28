"""Recipes: includes, interpolation, overrides, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from streaming.config import RecipeError, load_recipe, parse_duration
from streaming.config.schema import StreamConfig


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    (tmp_path / "configs" / "trainers").mkdir(parents=True)
    (tmp_path / "recipes").mkdir()
    (tmp_path / "configs" / "trainers" / "composer.yaml").write_text(
        "trainer:\n  kind: composer\n  devices: 2\n"
    )
    path = tmp_path / "recipes" / "r.yaml"
    path.write_text(
        """
includes: [configs/trainers/composer.yaml]
variables:
  data_local: /data/c10
  global_seed: 5
seed: ${variables.global_seed}
global_train_batch_size: 8
max_duration: 2ep
train_loader:
  num_workers: 1
  dataset:
    name: cifar10
    local: ${variables.data_local}
    split: train
    shuffle: true
    streams:
      a: {local: /x, proportion: 0.5}
model:
  name: cnn
trainer:
  devices: 1
"""
    )
    return path


def test_includes_interpolation_and_overrides(recipe: Path) -> None:
    cfg = load_recipe(
        str(recipe),
        ["train_loader.num_workers=2", "train_loader.dataset.streams.b={local: ./y, split: val}"],
    )
    assert cfg.seed == 5 and cfg.train_loader.dataset.local == "/data/c10"
    assert (cfg.trainer.kind, cfg.trainer.devices) == ("composer", 1)  # the recipe wins
    assert cfg.train_loader.num_workers == 2
    assert cfg.train_loader.dataset.streams == {
        "a": StreamConfig(local="/x", proportion=0.5),
        "b": StreamConfig(local="./y", split="val"),
    }


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train_loader.dataset.shufle=true", r"dataset.shufle.*Did you mean.*'shuffle'"),
        ("max_durration=1ep", r"max_durration.*Did you mean: 'max_duration'"),
        ("train_loader.num_workers=two",
         r"^override `train_loader.num_workers=two`: train_loader.num_workers: 'two' is not an "
         r"integer$"),
        ("seed", r"^override `seed`: not key=value"),
    ],
)
def test_errors_name_the_key(recipe: Path, override: str, message: str) -> None:
    with pytest.raises(RecipeError, match=message):
        load_recipe(str(recipe), [override])


def test_missing_values_and_files(recipe: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare.yaml"
    bare.write_text("seed: 1\n")
    with pytest.raises(RecipeError, match="required value.*global_train_batch_size"):
        load_recipe(str(bare))
    with pytest.raises(RecipeError, match="does not exist"):
        load_recipe(str(tmp_path / "nope.yaml"))
    loop = tmp_path / "loop.yaml"
    loop.write_text("includes: [loop.yaml]\n")
    with pytest.raises(RecipeError, match="includes itself"):
        load_recipe(str(loop))


def test_durations() -> None:
    assert parse_duration("2ep") == (2, "ep") and parse_duration("100ba") == (100, "ba")
    with pytest.raises(RecipeError, match="<number>ep"):
        parse_duration("two epochs")
