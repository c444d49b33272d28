"""Check a loaded recipe's values: what the types alone cannot say.

`load_recipe` checks the shape and the types; `check_recipe` then checks that the values make
sense together (a known dataset and trainer, durations that parse, a batch that divides over
the devices, a setting that applies to the dataset it is set on...), and names the key of
anything wrong, so ``streaming train`` fails in a second, not after the data and model loaded.
"""

from __future__ import annotations

import difflib
import importlib.util
from collections.abc import Mapping
from typing import Any

from streaming.config.schema import DatasetConfig, LoaderConfig, TrainConfig

__all__ = [
    "DATASETS",
    "DEVICE_DECODE",
    "PRECISIONS",
    "TRAINERS",
    "check_recipe",
    "parse_duration",
    "precision_for",
]

TRAINERS = ("lightning", "composer")
OPTIMIZERS = ("adamw", "adam", "sgd")
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps")
DECODES = ("cpu", "device")
#: Each logger of the ``loggers`` section and the settings it takes.
LOGGERS: dict[str, tuple[str, ...]] = {"csv": ("log_dir",), "tensorboard": ("log_dir",)}

#: The supported datasets, by what their samples hold (which task settings apply).
IMAGE_DATASETS = ("cifar10", "imagenet", "ade20k", "coco", "laion", "webvid")
TEXT_DATASETS = ("c4", "enwiki", "pile", "laion", "webvid")
DATASETS = ("cifar10", "imagenet", "ade20k", "coco", "c4", "enwiki", "pile", "laion", "webvid")
#: Datasets whose recipe can decode on the training device (``decode: device``).
DEVICE_DECODE = ("cifar10", "imagenet")

#: Each mixed precision: (Lightning's name, Composer's name). None is full 32-bit precision.
PRECISIONS: dict[str | None, tuple[str, str]] = {
    None: ("32-true", "fp32"),
    "32-true": ("32-true", "fp32"),
    "fp32": ("32-true", "fp32"),
    "bf16-mixed": ("bf16-mixed", "amp_bf16"),
    "amp_bf16": ("bf16-mixed", "amp_bf16"),
    "16-mixed": ("16-mixed", "amp_fp16"),
    "amp_fp16": ("16-mixed", "amp_fp16"),
}


class RecipeError(ValueError):
    """A recipe that cannot be loaded or run: the message names the key and what to do.

    Attributes:
        key: the recipe key at fault (``"max_duration"``...), when one is.
    """

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def parse_duration(value: str, key: str = "duration") -> tuple[int, str]:
    """``"2ep"`` -> (2, "ep"); ``"100ba"`` -> (100, "ba"); ``"5000sp"`` -> (5000, "sp").

    Raises:
        RecipeError: not a positive count with one of the three units (naming `key`).
    """
    for unit in ("ep", "ba", "sp"):
        if value.endswith(unit) and value[: -len(unit)].isdigit() and int(value[: -len(unit)]):
            return int(value[: -len(unit)]), unit
    raise RecipeError(
        f"{key}: Duration {value!r} is not <number>ep, <number>ba or <number>sp (epochs, "
        "batches, samples), e.g. max_duration=2ep",
        key,
    )


def precision_for(kind: str, precision: str | None) -> str:
    """`precision` (either trainer's name, or None) in the words of trainer `kind`."""
    return PRECISIONS[precision][TRAINERS.index(kind)]


def _one_of(key: str, value: object, allowed: tuple) -> None:
    if value not in allowed:
        close = difflib.get_close_matches(str(value), [str(a) for a in allowed], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        names = ", ".join(str(a) for a in allowed)
        raise RecipeError(f"{key}: {value!r} is not one of {names}{hint}", key)


def _check_dataset(key: str, ds: DatasetConfig) -> None:
    _one_of(f"{key}.name", ds.name, DATASETS)
    _one_of(f"{key}.decode", ds.decode, DECODES)
    if ds.decode == "device" and ds.name not in DEVICE_DECODE:
        raise RecipeError(
            f"{key}.decode: 'device' decodes images for classification ({', '.join(DEVICE_DECODE)})"
            f"; {ds.name} decodes on the CPU: set decode=cpu"
        )
    if ds.image_size is not None and ds.name not in IMAGE_DATASETS:
        raise RecipeError(f"{key}.image_size: {ds.name} has no images; remove it")
    for name in ("max_seq_len", "tokenizer_name"):
        if getattr(ds, name) is not None and ds.name not in TEXT_DATASETS:
            raise RecipeError(f"{key}.{name}: {ds.name} has no text; remove it")
    for name in ("image_size", "max_seq_len"):
        value = getattr(ds, name)
        if value is not None and value < 1:
            raise RecipeError(f"{key}.{name}: must be at least 1, got {value}")
    _check_hash(f"{key}.validate_hash", ds.validate_hash)
    for name, stream in (ds.streams or {}).items():
        _check_hash(f"{key}.streams.{name}.validate_hash", stream.validate_hash)
    if bool(ds.streams) == bool(ds.remote or ds.local):
        raise RecipeError(
            f"{key}: give either `streams` or `remote`/`local`, not both or neither "
            f"(e.g. {key}.local=null to use streams)"
        )


def check_loggers(loggers: Mapping[str, Any]) -> None:
    """Raise `RecipeError` naming a logger or setting the recipes do not have, or TensorBoard
    when its package is not installed."""
    for name, settings in loggers.items():
        key = f"loggers.{name}"
        if name not in LOGGERS:
            _one_of(key, name, tuple(LOGGERS))
        if settings is not None and not isinstance(settings, Mapping):
            raise RecipeError(f"{key}: a mapping of settings (or null), got {settings!r}", key)
        for setting in settings or {}:
            if setting not in LOGGERS[name]:
                allowed = ", ".join(LOGGERS[name])
                raise RecipeError(
                    f"{key}.{setting}: unknown setting; {name} takes {allowed}", f"{key}.{setting}"
                )
        if name == "tensorboard" and importlib.util.find_spec("tensorboard") is None:
            raise RecipeError(
                f"{key}: the tensorboard package is not installed: pip install tensorboard "
                "(or log with loggers.csv)",
                key,
            )


def _check_hash(key: str, algo: str | None) -> None:
    from streaming.format.hashing import get_hashes

    if algo is not None and algo != "auto":
        _one_of(key, algo, ("auto", *sorted(get_hashes())))


def _check_loader(key: str, loader: LoaderConfig) -> None:
    _check_dataset(f"{key}.dataset", loader.dataset)
    if loader.num_workers < 0:
        raise RecipeError(f"{key}.num_workers: must be 0 or more, got {loader.num_workers}")
    if loader.persistent_workers and not loader.num_workers:
        raise RecipeError(f"{key}.persistent_workers: needs num_workers > 0")


def check_recipe(cfg: TrainConfig) -> TrainConfig:
    """`cfg`, after checking that its values make sense together.

    Raises:
        RecipeError: naming the first key whose value is wrong, and what would be right.
    """
    trainer = cfg.trainer
    _one_of("trainer.kind", trainer.kind, TRAINERS)
    _one_of("trainer.accelerator", trainer.accelerator, ACCELERATORS)
    _one_of("trainer.precision", trainer.precision, tuple(PRECISIONS))
    if trainer.kind == "composer" and trainer.strategy not in ("auto", "ddp"):
        raise RecipeError(
            f"trainer.strategy: Composer recipes run DDP ('auto' or 'ddp'), not "
            f"{trainer.strategy!r}"
        )
    if trainer.devices < 1 or trainer.num_nodes < 1 or trainer.log_every < 1:
        raise RecipeError("trainer.devices, trainer.num_nodes and trainer.log_every must be >= 1")
    _one_of("optimizer.name", cfg.optimizer.name, OPTIMIZERS)
    parse_duration(cfg.max_duration, "max_duration")
    parse_duration(cfg.save_interval, "save_interval")
    if cfg.eval_interval is not None:
        parse_duration(cfg.eval_interval, "eval_interval")
    world = trainer.devices * trainer.num_nodes
    if cfg.global_train_batch_size < 1 or cfg.global_train_batch_size % world:
        raise RecipeError(
            f"global_train_batch_size: {cfg.global_train_batch_size} does not divide over "
            f"{world} device(s) (trainer.devices x trainer.num_nodes)"
        )
    for key in ("device_train_microbatch_size", "device_eval_batch_size"):
        value = getattr(cfg, key)
        if value is not None and value < 1:
            raise RecipeError(f"{key}: must be at least 1, got {value}")
    if cfg.autoresume and not cfg.save_folder:
        raise RecipeError("autoresume: resumes from the latest checkpoint in save_folder; set it")
    if cfg.save_num_checkpoints_to_keep == 0 or cfg.save_num_checkpoints_to_keep < -1:
        raise RecipeError(
            f"save_num_checkpoints_to_keep: {cfg.save_num_checkpoints_to_keep} is not -1 (keep "
            "all) or a count of 1 or more (0 would delete every checkpoint, leaving none to "
            "resume from)",
            "save_num_checkpoints_to_keep",
        )
    check_loggers(cfg.loggers)
    if cfg.autoresume and cfg.save_overwrite:
        raise RecipeError("save_overwrite: cannot be true with autoresume (it would erase the run)")
    _check_loader("train_loader", cfg.train_loader)
    if cfg.eval_loader is not None:
        _check_loader("eval_loader", cfg.eval_loader)
        if cfg.eval_loader.dataset.name != cfg.train_loader.dataset.name:
            raise RecipeError(
                f"eval_loader.dataset.name: {cfg.eval_loader.dataset.name!r} is not the training "
                f"dataset {cfg.train_loader.dataset.name!r} (the model is built for that one)"
            )
    return cfg
