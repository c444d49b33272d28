"""Run a recipe with MosaicML Composer: `ComposerTask` wraps the reference model, and `run`
builds the DataSpecs (`streaming.integrations.composer.build_dataspec`), the evaluator and the
Trainer from the `RunPlan`.

Composer checkpoints itself: ``save_folder``/``ep{epoch}-ba{batch}-rank{rank}.pt`` every
``save_interval`` and at the end of training (Ctrl-C ends it after the current batch), with
``latest-rank{rank}.pt`` linking to the latest; ``load_path`` or ``autoresume`` resume there,
sample-exactly (`StreamingCursor`).
Several devices need Composer's launcher: ``composer -n 8 -m streaming.cli.main train ...``.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import torch
from composer import Callback, Evaluator, State, Trainer
from composer.core import Event
from composer.loggers import Logger
from composer.models import ComposerModel
from composer.utils import dist
from torchmetrics import MeanMetric, Metric

from streaming.config import RecipeError
from streaming.config.check import precision_for
from streaming.integrations.composer import StreamingCursor, build_dataspec
from streaming.integrations.recipes.build import (
    LoaderPlan,
    RunPlan,
    build_optimizer,
    latest_checkpoint,
)
from streaming.integrations.recipes.interrupt import Interrupt
from streaming.integrations.recipes.loggers import build_sinks
from streaming.integrations.recipes.models import Task
from streaming.integrations.recipes.report import Progress, RunSummary
from streaming.loader import batch_length

LATEST = "latest-rank{rank}.pt"


class ComposerTask(ComposerModel):
    """A reference model (`Task`) as a ComposerModel: the same loss; evaluation reports the
    mean loss as the ``loss`` metric.

    Args:
        task: the model.
    """

    def __init__(self, task: Task) -> None:
        super().__init__()
        self.task = task
        self.eval_loss = MeanMetric()

    def forward(self, batch: dict[str, Any]) -> Any:
        return self.task(batch)

    def loss(self, outputs: Any, batch: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        return self.task.loss(outputs, batch)

    def get_metrics(self, is_train: bool = False) -> dict[str, Metric]:
        return {} if is_train else {"loss": self.eval_loss}

    def update_metric(self, batch: Any, outputs: Any, metric: Metric) -> None:
        # Weighted by the batch's samples: the mean over samples, as Lightning's eval/loss.
        metric.update(self.task.loss(outputs, batch).detach(), weight=batch_length(batch))


class _ProgressCallback(Callback):
    """Feeds `Progress` after each training batch and evaluation, and stops the run after the
    batch at which Ctrl-C came (on every process: the first batch any of them saw it); Composer
    then saves its end-of-training checkpoint at that batch."""

    def __init__(self, progress: Progress, interrupt: Interrupt | None = None) -> None:
        self.progress = progress
        self.interrupt = interrupt
        self.batch: Any = None

    def fit_start(self, state: State, logger: Logger) -> None:
        first = dist.get_global_rank() == 0
        self.progress.verbose = self.progress.verbose and first
        self.progress.first_process = first
        if not first:
            self.progress.sinks = []
        self.progress.start(int(state.timestamp.batch))
        if self.interrupt is not None:
            self.interrupt.install()  # over Composer's (composer.core.engine sets its own)

    def after_dataloader(self, state: State, logger: Logger) -> None:
        self.batch = state.batch  # the whole batch (microbatches replace it later)

    def batch_end(self, state: State, logger: Logger) -> None:
        samples = batch_length(self.batch) * dist.get_world_size()
        self.progress.batch(int(state.timestamp.batch), self.batch, samples, state.loss)
        if self.interrupt is None:
            return
        stop = self.interrupt.requested is not None
        if dist.get_world_size() > 1:
            flag = state.device.tensor_to_device(torch.tensor([int(stop)]))
            dist.all_reduce(flag, reduce_operation="MAX")
            stop = bool(flag.item())
        if stop:
            self.interrupt.stopping = True
            self.progress.interrupted = self.interrupt.requested or "SIGINT"
            for evaluator in state.evaluators:  # Composer evaluates at the end: exit without it
                evaluator.eval_interval = _never
            state.stop_training()

    def eval_end(self, state: State, logger: Logger) -> None:
        metrics = {
            f"eval/{name}": metric.compute()
            for name, metric in state.eval_metrics.get("eval", {}).items()
        }  # fmt: skip
        if metrics:
            self.progress.evaluated(int(state.timestamp.batch), metrics)

    def fit_end(self, state: State, logger: Logger) -> None:
        self.progress.end()


def _never(state: State, event: Event) -> bool:
    return False


def _dataspec(loader: LoaderPlan) -> Any:
    data = loader.data
    return build_dataspec(
        batch_size=loader.batch_size, dataset_class=data.dataset_class,
        collate_fn=data.collate_fn, device_transform=data.device_transform,
        tokens_key=data.tokens_key, reader_options=data.reader_options,
        **loader.loader_kwargs, **loader.dataset_kwargs,
    )  # fmt: skip


def _device(accelerator: str) -> str | None:
    return {"cpu": "cpu", "gpu": "gpu", "cuda": "gpu", "mps": "mps"}.get(accelerator)


def world_size(devices: int) -> int:
    """The processes of this run (Composer's launcher sets them); several devices need it."""
    world = dist.get_world_size()
    if devices > 1 and world == 1:
        raise RecipeError(
            f"trainer.devices: {devices} devices with Composer need its launcher, one process "
            f"per device: composer -n {devices} -m streaming.cli.main train RECIPE.yaml ..."
        )
    return world


def run(
    plan: RunPlan, record_ids: bool = False, verbose: bool = True,
    interrupt: Interrupt | None = None,
) -> RunSummary:  # fmt: skip
    """Train `plan` with Composer (resuming where the recipe says); its `RunSummary`.

    With `interrupt` (installed by the caller), SIGINT or SIGTERM stops the run after the
    current batch, with a checkpoint there (``RunSummary.interrupted``)."""
    cfg = plan.cfg
    logging.getLogger("composer").setLevel(logging.ERROR)
    if interrupt is not None:
        interrupt.install()  # importing Composer replaced the handlers
    sinks = build_sinks(cfg.loggers, cfg.run_name)
    progress = Progress("composer", cfg.trainer.log_every, record_ids, verbose, sinks)
    model = ComposerTask(plan.model)
    evaluator = None
    if plan.eval is not None:
        evaluator = Evaluator(label="eval", dataloader=_dataspec(plan.eval), metric_names=["loss"])
    resume = latest_checkpoint(cfg, LATEST.format(rank=0))  # rank 0 saves for all
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Composer's notes on settings we chose on purpose
        trainer = Trainer(
            model=model, train_dataloader=_dataspec(plan.train), eval_dataloader=evaluator,
            eval_interval=cfg.eval_interval or "1ep", max_duration=cfg.max_duration,
            optimizers=build_optimizer(model.parameters(), cfg.optimizer),
            device=_device(cfg.trainer.accelerator),
            precision=precision_for("composer", cfg.trainer.precision),
            device_train_microbatch_size=cfg.device_train_microbatch_size,
            seed=cfg.seed, run_name=cfg.run_name, save_folder=cfg.save_folder,
            save_interval=cfg.save_interval, save_overwrite=cfg.save_overwrite,
            save_num_checkpoints_to_keep=cfg.save_num_checkpoints_to_keep,
            save_latest_filename=LATEST, load_path=resume, autoresume=False,
            callbacks=[StreamingCursor(log_metrics=False), _ProgressCallback(progress, interrupt)],
            progress_bar=False, log_to_console=False, loggers=[],
        )  # fmt: skip
        try:
            trainer.fit()
        finally:
            progress.end()
            trainer.close()
    saved = _saved_checkpoint(trainer)
    return progress.summary(cfg.run_name, saved, resume)


def _saved_checkpoint(trainer: Trainer) -> str | None:
    for callback in trainer.state.callbacks:
        saved = getattr(callback, "saved_checkpoints", None)
        if saved:
            return str(saved[-1])
    return None
