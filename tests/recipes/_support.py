"""Shared by the recipe tests: the recipes, tiny converted data for each, and a recipe loaded
with the overrides that make it run on that data in a few steps."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from streaming.config import TrainConfig, check_recipe, load_recipe

REPO = Path(__file__).resolve().parents[2]
RECIPES = sorted(p.stem for p in (REPO / "recipes").glob("*.yaml"))

#: Recipe -> (dataset it reads, overrides that fit the tiny replica).
TINY: dict[str, tuple[str, list[str]]] = {
    "cifar10": ("cifar10", ["eval_loader.num_workers=0"]),
    "imagenet": ("imagenet", ["variables.image_size=32", "eval_loader.num_workers=0"]),
    "ade20k": ("ade20k", ["variables.image_size=32", "eval_loader.num_workers=0"]),
    "coco": (
        "coco",  # the replica has val2017 only
        ["variables.image_size=32", "train_loader.dataset.split=val", "eval_loader.num_workers=0"],
    ),
    "c4": ("c4", ["variables.max_seq_len=32", "eval_loader.num_workers=0"]),
    "enwiki": ("enwiki", ["variables.max_seq_len=32", "eval_loader.num_workers=0"]),
    "pile": ("pile", ["variables.max_seq_len=32", "eval_loader.num_workers=0"]),
    "laion400m": ("laion", ["variables.image_size=32", "variables.max_seq_len=16"]),
    "webvid": (
        "webvid",
        [
            "variables.image_size=16",
            "variables.num_frames=2",
            "variables.max_seq_len=16",
            "eval_loader.num_workers=0",
        ],
    ),  # fmt: skip
}


def tiny_overrides(recipe: str, data: Path, *extra: str) -> list[str]:
    """Overrides running `recipe` on the tiny data in `data`: 2 samples a step, 4 steps, a
    checkpoint every 2, no workers; then `extra`."""
    dataset, overrides = TINY[recipe]
    return [
        f"variables.data_local={data / dataset}", "global_train_batch_size=2",
        "max_duration=4ba", "save_interval=2ba", "train_loader.num_workers=0", *overrides,
        *extra,
    ]  # fmt: skip


def tiny_recipe(recipe: str, kind: str, data: Path, extra: Sequence[str] = ()) -> TrainConfig:
    """`recipe` on the tiny data, on trainer `kind` on the CPU (its ``configs/trainers``
    fragment), checked."""
    path = REPO / "recipes" / f"{recipe}.yaml"
    fragment = f"configs/trainers/{kind}_cpu.yaml"
    return check_recipe(load_recipe(str(path), tiny_overrides(recipe, data, *extra), [fragment]))
