"""From a checked `TrainConfig` to what both trainers need: the per-device batch, the data
plans and `StreamingDataset` arguments of each loader, the model and the optimizer.

The runners (`lightning_run`, `composer_run`) only translate this `RunPlan` into their
trainer's words.
"""

from __future__ import annotations

import importlib
import inspect
import math
import os
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from streaming.config import RecipeError, TrainConfig, parse_duration
from streaming.config.schema import DatasetConfig, LoaderConfig, OptimizerConfig
from streaming.integrations.recipes.data import DataPlan, plan_data
from streaming.integrations.recipes.models import MODELS, Task, build_model
from streaming.integrations.recipes.preflight import resolve_validate_hash

#: `DatasetConfig` fields that are `StreamingDataset` arguments (the rest are the recipe's).
DATASET_ARGS = (
    "remote", "local", "split", "shuffle", "shuffle_seed", "shuffle_algo", "shuffle_block_size",
    "epoch_size", "predownload", "cache_limit", "partition_algo", "num_canonical_nodes",
    "sampling_method", "sampling_granularity", "batching_method", "replication",
    "download_retry", "download_timeout", "validate_hash", "keep_zip", "allow_unsafe_types",
)  # fmt: skip


@dataclass
class LoaderPlan:
    """One loader: its data plan, `StreamingDataset` arguments and DataLoader arguments."""

    data: DataPlan
    dataset_kwargs: dict[str, Any]
    loader_kwargs: dict[str, Any]
    batch_size: int


@dataclass
class RunPlan:
    """Everything a runner needs, in neither trainer's words."""

    cfg: TrainConfig
    world_size: int
    train: LoaderPlan
    eval: LoaderPlan | None
    model: Task


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (the model's initial weights are the same on both
    trainers)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def dataset_kwargs(ds: DatasetConfig) -> dict[str, Any]:
    """`ds`'s `StreamingDataset` arguments (streams as `Stream` objects; unset ones left out)."""
    from streaming.stream import Stream

    kwargs = {name: getattr(ds, name) for name in DATASET_ARGS}
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    if ds.streams:
        kwargs.pop("remote", None)
        kwargs.pop("local", None)
        kwargs["streams"] = [
            Stream(**{k: v for k, v in vars(stream).items() if v is not None})
            for stream in ds.streams.values()
        ]
    return kwargs


def loader_kwargs(key: str, loader: LoaderConfig) -> dict[str, Any]:
    """The DataLoader arguments of `loader` that both adapters take."""
    if loader.timeout:
        raise RecipeError(f"{key}.timeout: not supported by the adapters; leave it 0")
    return {
        "num_workers": loader.num_workers,
        "drop_last": loader.drop_last,
        "pin_memory": loader.pin_memory,
        "prefetch_factor": loader.prefetch_factor,
        "persistent_workers": loader.persistent_workers,
    }


def model_kwargs(cfg: TrainConfig, data: DataPlan) -> dict[str, Any]:
    """The recipe's ``model.kwargs``, completed with what the data decides and the model
    takes (e.g. ``vocab_size`` from the tokenizer)."""
    if cfg.model.name not in MODELS:
        build_model(cfg.model.name)  # raises, naming the models
    module, cls = MODELS[cfg.model.name]
    params = inspect.signature(getattr(importlib.import_module(module), cls)).parameters
    defaults = {k: v for k, v in data.model_defaults.items() if k in params}
    return {**defaults, **cfg.model.kwargs}


def build_optimizer(params: Any, cfg: OptimizerConfig) -> torch.optim.Optimizer:
    """``adamw``, ``adam`` or ``sgd`` over `params`."""
    if cfg.name == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
    optimizer = torch.optim.AdamW if cfg.name == "adamw" else torch.optim.Adam
    return optimizer(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def steps(duration: str, global_batch: int, key: str) -> tuple[int, str]:
    """`duration` as (count, ``"ep"`` or ``"ba"``): samples become whole batches."""
    count, unit = parse_duration(duration, key)
    if unit == "sp":
        return math.ceil(count / global_batch), "ba"
    return count, unit


def plan_run(cfg: TrainConfig, world_size: int) -> RunPlan:
    """The `RunPlan` of `cfg` on `world_size` processes (one per device).

    Seeds everything with ``cfg.seed`` before the model is built. Each dataset's index is
    read first: a missing split is an error naming those that exist, and ``validate_hash:
    auto`` becomes ``xxh64`` where the index records it.
    """
    if cfg.global_train_batch_size % world_size:
        raise RecipeError(
            f"global_train_batch_size: {cfg.global_train_batch_size} does not divide over "
            f"{world_size} processes"
        )
    batch = cfg.global_train_batch_size // world_size
    train_ds = resolve_validate_hash("train_loader.dataset", cfg.train_loader.dataset)
    data = plan_data(train_ds, train=True, seed=cfg.seed)
    train = LoaderPlan(
        data, dataset_kwargs(train_ds), loader_kwargs("train_loader", cfg.train_loader), batch
    )
    evaluation = None
    if cfg.eval_loader is not None:
        eval_ds = resolve_validate_hash("eval_loader.dataset", cfg.eval_loader.dataset)
        evaluation = LoaderPlan(
            plan_data(eval_ds, train=False, seed=cfg.seed),
            dataset_kwargs(eval_ds),
            loader_kwargs("eval_loader", cfg.eval_loader),
            cfg.device_eval_batch_size or batch,
        )
    seed_everything(cfg.seed)
    model = build_model(cfg.model.name, **model_kwargs(cfg, data))
    return RunPlan(cfg, world_size, train, evaluation, model)


def latest_checkpoint(cfg: TrainConfig, last_name: str) -> str | None:
    """Where to resume from: with ``autoresume``, `last_name` in ``save_folder`` when it is
    there; otherwise ``load_path`` (None: start afresh)."""
    if cfg.autoresume and cfg.save_folder:
        last = os.path.join(cfg.save_folder, last_name)
        if os.path.exists(last):
            return last
    if cfg.load_path and "://" not in cfg.load_path and not os.path.exists(cfg.load_path):
        raise RecipeError(f"load_path: no checkpoint at {cfg.load_path!r}")
    return cfg.load_path
