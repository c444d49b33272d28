"""Typed schemas of a training recipe, with the field names users know from llm-foundry.

A recipe is YAML; OmegaConf checks it against these dataclasses, so a wrong type or a
misspelled key is an error that names it (with a suggestion for a typo). Values under
``variables`` are free-form and referenced as ``${variables.x}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

__all__ = [
    "StreamConfig",
    "DatasetConfig",
    "LoaderConfig",
    "ModelConfig",
    "OptimizerConfig",
    "TrainerConfig",
    "TrainConfig",
]


@dataclass
class StreamConfig:
    """One `streaming.Stream`: where its data is and its weight in the mix."""

    remote: str | None = None
    local: str | None = None
    split: str | None = None
    proportion: float | None = None
    repeat: float | None = None
    choose: int | None = None
    download_retry: int | None = None
    download_timeout: float | None = None
    validate_hash: str | None = None
    keep_zip: bool | None = None


@dataclass
class DatasetConfig:
    """The dataset of a loader: which supported dataset (``name``, e.g. ``cifar10``), and the
    `StreamingDataset` settings.

    What the recipe's data pipeline does with the samples:

    * ``decode``: ``cpu`` (decode images in the DataLoader workers) or ``device`` (hand the
      encoded bytes to the training device and decode there; image classification only);
    * ``image_size``: the side of the square images (or video frames) the model gets;
    * ``max_seq_len``: tokens per text (per caption for LAION and WebVid);
    * ``tokenizer_name``: ``bytes`` (built in, the default) or a Hugging Face tokenizer;
    * ``reader``: any other argument of the dataset's reader class (e.g. ``num_frames``).

    ``validate_hash`` is ``auto`` by default: each shard file is checked against its ``xxh64``
    in ``index.json`` when the index records one (as ``streaming convert`` writes it), and not
    checked otherwise; ``null`` turns the check off, and an algorithm name (``sha1``...)
    requires that hash.
    """

    name: str = MISSING
    remote: str | None = None
    local: str | None = None
    split: str | None = None
    streams: dict[str, StreamConfig] | None = None
    shuffle: bool = False
    shuffle_seed: int = 9176
    shuffle_algo: str = "py1e"
    shuffle_block_size: int | None = None
    epoch_size: str | None = None
    predownload: int | None = None
    cache_limit: str | None = None
    partition_algo: str = "relaxed"
    num_canonical_nodes: int | None = None
    sampling_method: str = "balanced"
    sampling_granularity: int = 1
    batching_method: str = "random"
    replication: int | None = None
    download_retry: int = 2
    download_timeout: float = 60
    validate_hash: str | None = "auto"
    keep_zip: bool = False
    allow_unsafe_types: bool = False
    decode: str = "cpu"
    image_size: int | None = None
    max_seq_len: int | None = None
    tokenizer_name: str | None = None
    reader: dict[str, Any] = field(default_factory=dict)


@dataclass
class LoaderConfig:
    """A DataLoader over a dataset."""

    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    num_workers: int = 0
    drop_last: bool = False
    pin_memory: bool = False
    prefetch_factor: int | None = None
    persistent_workers: bool = False
    timeout: float = 0


@dataclass
class ModelConfig:
    """A reference model by name (see `streaming.integrations.recipes.models`) and its arguments."""

    name: str = MISSING
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class OptimizerConfig:
    """``adamw``, ``adam`` or ``sgd``, with its learning rate and weight decay (and momentum
    for SGD)."""

    name: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9


@dataclass
class TrainerConfig:
    """Which trainer runs the recipe (``lightning`` or ``composer``) and on what.

    ``accelerator``: ``cpu``, ``gpu`` (or ``cuda``), ``mps`` or ``auto``. ``precision``: None
    (32-bit), or Lightning's or Composer's name of a mixed precision (``bf16-mixed`` or
    ``amp_bf16``, ``16-mixed`` or ``amp_fp16``): either trainer takes either name.
    ``log_every``: print a progress line every this many steps.
    """

    kind: str = "lightning"
    accelerator: str = "cpu"
    devices: int = 1
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str | None = None
    log_every: int = 10


@dataclass
class TrainConfig:
    """A whole recipe (llm-foundry's top-level names).

    ``global_train_batch_size`` is over all devices (each gets its share);
    ``device_eval_batch_size`` defaults to the per-device training batch. Durations and
    intervals are ``<n>ep``, ``<n>ba`` or ``<n>sp`` (epochs, batches, samples). Checkpoints go to
    ``save_folder`` every ``save_interval`` and at the end (or at Ctrl-C);
    ``save_num_checkpoints_to_keep`` (-1: all) keeps the newest this run saved; ``load_path``
    resumes from one, and ``autoresume`` from the latest in ``save_folder`` when there is one.
    ``loggers`` writes the training loss and the evaluation metrics: ``csv`` and
    ``tensorboard``, each with an optional ``log_dir`` (default ``./logs/<run_name>``).
    """

    variables: dict[str, Any] = field(default_factory=dict)
    run_name: str = "run"
    seed: int = 17
    train_loader: LoaderConfig = field(default_factory=LoaderConfig)
    eval_loader: LoaderConfig | None = None
    global_train_batch_size: int = MISSING
    device_train_microbatch_size: int | None = None
    device_eval_batch_size: int | None = None
    max_duration: str = "1ep"
    eval_interval: str | None = None
    save_folder: str | None = None
    save_interval: str = "1ep"
    save_overwrite: bool = False
    save_num_checkpoints_to_keep: int = -1
    load_path: str | None = None
    autoresume: bool = False
    model: ModelConfig = field(default_factory=ModelConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    loggers: dict[str, Any] = field(default_factory=dict)
    includes: list[str] = field(default_factory=list)
