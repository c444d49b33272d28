"""Run a recipe with PyTorch Lightning: `LightningTask` wraps the reference model, and `run`
builds the `StreamingDataModule`, the checkpointing and the Trainer from the `RunPlan`.

Checkpoints go to ``save_folder`` as ``ep{epoch}-ba{step}.ckpt`` every ``save_interval``, at
the end of training and at Ctrl-C, with ``last.ckpt`` linking to the latest; ``load_path`` (or, with
``autoresume``, ``last.ckpt``) resumes there, sample-exactly (the DataModule's cursor is in the
checkpoint).
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from streaming.config.check import precision_for
from streaming.config.schema import OptimizerConfig
from streaming.integrations.lightning import StreamingDataModule
from streaming.integrations.recipes.build import RunPlan, build_optimizer, latest_checkpoint, steps
from streaming.integrations.recipes.interrupt import Interrupt
from streaming.integrations.recipes.loggers import build_sinks
from streaming.integrations.recipes.models import Task
from streaming.integrations.recipes.report import Progress, RunSummary
from streaming.loader import batch_length

#: Lightning's warnings about choices the recipes make on purpose (a streaming dataset knows
#: its length; a resumed run writes into its own checkpoint folder...).
QUIET = (
    ".*does not have many workers.*",
    ".*The number of training batches.*",
    ".*GPU available but not used.*",
    ".*Checkpoint directory .* exists and is not empty.*",
    ".*`IterableDataset` has `__len__` defined.*",
    ".*'pin_memory' argument is set as true but no accelerator.*",
    ".*You defined a `validation_step` but have no `val_dataloader`.*",
    r".*isinstance\(treespec, LeafSpec\).*",
)


class LightningTask(pl.LightningModule):
    """A reference model (`Task`) as a LightningModule: its loss is the training step's, and
    validation logs ``eval/loss``.

    Args:
        task: the model.
        optimizer: the recipe's optimizer section.
    """

    def __init__(self, task: Task, optimizer: OptimizerConfig) -> None:
        super().__init__()
        self.task = task
        self.optimizer_config = optimizer

    def forward(self, batch: dict[str, Any]) -> Any:
        return self.task(batch)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss = self.task.loss(self.task(batch), batch)
        self.log("train/loss", loss, batch_size=batch_length(batch))
        return loss

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        loss = self.task.loss(self.task(batch), batch)
        self.log("eval/loss", loss, batch_size=batch_length(batch), sync_dist=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return build_optimizer(self.parameters(), self.optimizer_config)


class RecipeCheckpoint(ModelCheckpoint):
    """`ModelCheckpoint` that also saves where training stops, as Composer does: at the step
    that reaches ``max_steps``, at the end of the last epoch, and at the step where Ctrl-C
    stopped the run; ``last.ckpt`` links to the latest checkpoint. Each save happens inside the
    step or epoch it ends, before Lightning advances its counters, so the checkpoint's epoch
    (and its name, ``ep{epoch}-ba{step}``) is the one an uninterrupted run has at that step.

    Args:
        interrupt: the run's Ctrl-C state (`Interrupt.stopping`: save at this step).
        keep: ``save_num_checkpoints_to_keep``: how many of the checkpoints this run saved stay
            (the oldest are deleted); -1 keeps them all.
        **kwargs: `ModelCheckpoint`'s.
    """

    def __init__(self, interrupt: Interrupt | None = None, keep: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.interrupt = interrupt
        self.keep = keep
        self.saved: list[str] = []

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
        batch_idx: int,
    ) -> None:  # fmt: skip
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        stopping = self.interrupt is not None and self.interrupt.stopping
        if stopping or 0 < trainer.max_steps <= trainer.global_step:
            self.save_now(trainer)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        last_epoch = trainer.max_epochs is not None and trainer.max_epochs > 0
        if last_epoch and trainer.current_epoch + 1 >= trainer.max_epochs:  # type: ignore[operator]
            self.save_now(trainer)

    def save_now(self, trainer: pl.Trainer) -> None:
        """Save a checkpoint at this step (unless one was just saved) and link ``last.ckpt``."""
        if self._should_skip_saving_checkpoint(trainer):
            return
        candidates = self._monitor_candidates(trainer)
        self._save_topk_checkpoint(trainer, candidates)
        self._save_last_checkpoint(trainer, candidates)

    def _monitor_candidates(self, trainer: pl.Trainer) -> dict[str, torch.Tensor]:
        # The name's epoch and step are the trainer's now (never a logged value).
        candidates = super()._monitor_candidates(trainer)
        candidates["epoch"] = torch.tensor(trainer.current_epoch)
        candidates["step"] = torch.tensor(trainer.global_step)
        return candidates

    def _save_checkpoint(self, trainer: pl.Trainer, filepath: str) -> None:
        super()._save_checkpoint(trainer, filepath)
        if os.path.basename(filepath) == self.CHECKPOINT_NAME_LAST + self.FILE_EXTENSION:
            return
        self.saved.append(filepath)
        while self.keep >= 0 and len(self.saved) > self.keep:
            self._remove_checkpoint(trainer, self.saved.pop(0))


class _ProgressCallback(pl.Callback):
    """Feeds `Progress` after each training step and evaluation, and stops the run after the
    step at which Ctrl-C came (on every process: the first step any of them saw it)."""

    def __init__(self, progress: Progress, interrupt: Interrupt | None = None) -> None:
        self.progress = progress
        self.interrupt = interrupt

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.progress.verbose = self.progress.verbose and trainer.is_global_zero
        self.progress.first_process = trainer.is_global_zero
        if not trainer.is_global_zero:
            self.progress.sinks = []
        self.progress.start(trainer.global_step)
        if self.interrupt is not None:
            self.interrupt.install()  # over Lightning's SIGTERM handler, installed since

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
        batch_idx: int,
    ) -> None:  # fmt: skip
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        samples = batch_length(batch) * trainer.world_size
        self.progress.batch(trainer.global_step, batch, samples, loss)
        if self.interrupt is None:
            return
        stop = self.interrupt.requested is not None
        if trainer.world_size > 1:
            stop = trainer.strategy.reduce_boolean_decision(stop, all=False)
        if stop:
            self.interrupt.stopping = True
            self.progress.interrupted = self.interrupt.requested or "SIGINT"
            trainer.should_stop = True
            trainer.limit_val_batches = 0  # Lightning validates on a stop: exit without it

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        metrics = {
            name: value for name, value in trainer.callback_metrics.items()
            if name.startswith("eval/")
        }  # fmt: skip
        if metrics:
            self.progress.evaluated(trainer.global_step, metrics)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.progress.end()


def _schedule(plan: RunPlan) -> dict[str, Any]:
    """The Trainer's duration and evaluation arguments."""
    cfg = plan.cfg
    count, unit = steps(cfg.max_duration, cfg.global_train_batch_size, "max_duration")
    args: dict[str, Any] = (
        {"max_epochs": count, "max_steps": -1} if unit == "ep"
        else {"max_epochs": -1, "max_steps": count}
    )  # fmt: skip
    if plan.eval is not None and cfg.eval_interval is not None:
        every, unit = steps(cfg.eval_interval, cfg.global_train_batch_size, "eval_interval")
        if unit == "ep":
            args["check_val_every_n_epoch"] = every
        else:
            args.update(check_val_every_n_epoch=None, val_check_interval=every)
    return args


def _checkpointing(plan: RunPlan, interrupt: Interrupt | None) -> RecipeCheckpoint | None:
    cfg = plan.cfg
    if not cfg.save_folder:
        return None
    every, unit = steps(cfg.save_interval, cfg.global_train_batch_size, "save_interval")
    return RecipeCheckpoint(
        interrupt, cfg.save_num_checkpoints_to_keep,
        dirpath=cfg.save_folder, filename="ep{epoch}-ba{step}", auto_insert_metric_name=False,
        save_top_k=-1, save_last="link", enable_version_counter=False,
        every_n_train_steps=every if unit == "ba" else None,
        every_n_epochs=every if unit == "ep" else None,
        save_on_train_epoch_end=True if unit == "ep" else None,
    )  # fmt: skip


def _datamodule(plan: RunPlan) -> StreamingDataModule:
    train, evaluation = plan.train, plan.eval
    val: dict[str, Any] = {}
    if evaluation is not None:
        same_place = all(
            evaluation.dataset_kwargs.get(k) == train.dataset_kwargs.get(k)
            for k in ("remote", "local", "streams")
        )
        if same_place and "streams" not in train.dataset_kwargs:
            val["val_split"] = evaluation.dataset_kwargs.get("split")
        else:
            from streaming.stream import Stream

            kwargs = evaluation.dataset_kwargs
            streams = kwargs.get("streams") or [
                Stream(remote=kwargs.get("remote"), local=kwargs.get("local"),
                       split=kwargs.get("split"))
            ]  # fmt: skip
            val["val_streams"] = streams
        val.update(
            val_batch_size=evaluation.batch_size,
            val_reader_options=evaluation.data.reader_options,
            val_device_transform=evaluation.data.device_transform,
        )
    return StreamingDataModule(
        batch_size=train.batch_size, dataset_class=train.data.dataset_class,
        reader_options=train.data.reader_options, collate_fn=train.data.collate_fn,
        device_transform=train.data.device_transform, log_metrics=False,
        **train.loader_kwargs, **val, **train.dataset_kwargs,
    )  # fmt: skip


def run(
    plan: RunPlan, record_ids: bool = False, verbose: bool = True,
    interrupt: Interrupt | None = None,
) -> RunSummary:  # fmt: skip
    """Train `plan` with Lightning (resuming where the recipe says); its `RunSummary`.

    With `interrupt` (installed by the caller), SIGINT or SIGTERM stops the run after the
    current step, with a checkpoint there (``RunSummary.interrupted``)."""
    cfg = plan.cfg
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    sinks = build_sinks(cfg.loggers, cfg.run_name)
    progress = Progress("lightning", cfg.trainer.log_every, record_ids, verbose, sinks)
    checkpoint = _checkpointing(plan, interrupt)
    callbacks: list[pl.Callback] = [_ProgressCallback(progress, interrupt)]
    if checkpoint is not None:
        callbacks.append(checkpoint)
    resume = latest_checkpoint(cfg, "last.ckpt")
    module = LightningTask(plan.model, cfg.optimizer)
    with warnings.catch_warnings():
        for message in QUIET:
            warnings.filterwarnings("ignore", message)
        trainer = pl.Trainer(
            accelerator=cfg.trainer.accelerator, devices=cfg.trainer.devices,
            num_nodes=cfg.trainer.num_nodes, strategy=cfg.trainer.strategy,
            precision=precision_for("lightning", cfg.trainer.precision),  # type: ignore[arg-type]
            callbacks=callbacks, logger=False, enable_progress_bar=False,
            enable_model_summary=False, num_sanity_val_steps=0,
            enable_checkpointing=checkpoint is not None, default_root_dir=cfg.save_folder,
            log_every_n_steps=cfg.trainer.log_every, **_schedule(plan),
        )  # fmt: skip
        try:
            trainer.fit(module, datamodule=_datamodule(plan), ckpt_path=resume)
        finally:
            progress.end()
    saved = checkpoint.last_model_path if checkpoint is not None else ""
    saved = os.path.realpath(saved) if saved else None
    return progress.summary(cfg.run_name, saved, resume)
