"""What a recipe run tells its user: a progress line every few steps, and a summary at the end
(steps, samples, time, last loss, last evaluation, checkpoint). Both trainers' callbacks feed one
`Progress`, which also writes the metrics to the recipe's ``loggers`` (`loggers`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from streaming.integrations.recipes.loggers import MetricSink


@dataclass
class RunSummary:
    """The outcome of a recipe run.

    Attributes:
        run_name: the recipe's ``run_name``.
        trainer: ``lightning`` or ``composer``.
        steps: optimizer steps trained in all, counting those before a resume.
        steps_run: steps trained by this run.
        samples_run: samples trained by this run, over all devices.
        seconds: wall time of the training loop.
        last_loss: the loss of the last step (None if no step ran).
        checkpoint: the last checkpoint this run saved (None if it saved none).
        resumed_from: the checkpoint this run started from (None: from scratch).
        sample_ids: with ``record_ids``, the sample ids of each step this process trained.
        eval_metrics: the last evaluation's metrics (``{"eval/loss": ...}``; empty: none ran).
        eval_step: the step after which that evaluation ran.
        interrupted: the signal that stopped the run after its current step (``"SIGINT"``,
            ``"SIGTERM"``), or None.
        first_process: whether this process is the run's first (rank 0), which reports.
    """

    run_name: str
    trainer: str
    steps: int
    steps_run: int
    samples_run: int
    seconds: float
    last_loss: float | None
    checkpoint: str | None
    resumed_from: str | None = None
    sample_ids: list[list[int]] | None = field(default=None, repr=False)
    eval_metrics: dict[str, float] = field(default_factory=dict)
    eval_step: int | None = None
    interrupted: str | None = None
    first_process: bool = True

    def format(self) -> str:
        """The summary as aligned lines for the console."""
        rate = self.samples_run / self.seconds if self.seconds > 0 else 0.0
        loss = "n/a" if self.last_loss is None else f"{self.last_loss:.4f}"
        rows = [
            ("run", f"{self.run_name} ({self.trainer})"),
            ("resumed from", self.resumed_from or "-"),
            ("steps", f"{self.steps_run:,} this run, {self.steps:,} in all"),
            ("samples", f"{self.samples_run:,} this run ({rate:,.1f}/s)"),
            ("time", f"{self.seconds:,.1f}s"),
            ("last loss", loss),
            ("last eval", self._eval()),
            ("checkpoint", self.checkpoint or "none saved"),
        ]
        return "\n".join(f"{name:<13}{value}" for name, value in rows)

    def _eval(self) -> str:
        if not self.eval_metrics:
            return "none ran"
        values = "  ".join(
            f"{name.removeprefix('eval/')} {value:.4f}" for name, value in self.eval_metrics.items()
        )
        return f"{values} (after step {self.eval_step:,})"


def _detached(loss: Any) -> Any:
    """`loss` without its graph (a tensor, a dict of them, or a number)."""
    if isinstance(loss, dict):
        return {k: _detached(v) for k, v in loss.items()}
    return loss.detach() if hasattr(loss, "detach") else loss


class Progress:
    """Counts steps and samples, keeps the last loss, records sample ids, and prints a line
    every `log_every` steps (on the first process only).

    Args:
        trainer: the trainer's name, for the lines.
        log_every: steps between progress lines.
        record_ids: keep each step's sample ids.
        verbose: print (the first process of a run).
        sinks: where to write the metrics (the recipe's loggers; the first process only).
    """

    def __init__(
        self, trainer: str, log_every: int, record_ids: bool, verbose: bool,
        sinks: Sequence[MetricSink] = (),
    ) -> None:  # fmt: skip
        self.trainer, self.log_every = trainer, log_every
        self.verbose = verbose
        self.sinks = list(sinks)
        self.eval_metrics: dict[str, float] = {}
        self.eval_step: int | None = None
        self.interrupted: str | None = None
        self.first_process = True
        self.sample_ids: list[list[int]] | None = [] if record_ids else None
        self.start_step = self.step = self.samples = 0
        self.loss: Any = None
        self.started = self.ended = 0.0

    def start(self, step: int) -> None:
        """Training begins (or resumes) at `step`."""
        self.start_step = self.step = step
        self.started = time.perf_counter()

    def batch(self, step: int, batch: Any, samples: int, loss: Any) -> None:
        """Step `step` trained `batch` (`samples` samples over all processes) with `loss`."""
        self.step, self.loss = step, _detached(loss)
        self.samples += samples
        if self.sample_ids is not None:
            self.sample_ids.append([int(i) for i in batch["sample_id"]])
        if step % self.log_every == 0:
            self._write(step, {"train/loss": self.last_loss()})
        if self.verbose and (step % self.log_every == 0 or step == self.start_step + 1):
            seconds = time.perf_counter() - self.started
            print(
                f"[{self.trainer}] step {step:,}  loss {self.last_loss():.4f}  "
                f"samples {self.samples:,}  {self.samples / max(seconds, 1e-9):,.1f}/s",
                flush=True,
            )

    def evaluated(self, step: int, metrics: Mapping[str, Any]) -> None:
        """An evaluation after step `step` gave `metrics` (``{"eval/loss": ...}``)."""
        self.eval_step = step
        self.eval_metrics = {name: float(value) for name, value in metrics.items()}
        self._write(step, self.eval_metrics)
        if self.verbose:
            values = "  ".join(f"{k} {v:.4f}" for k, v in self.eval_metrics.items())
            print(f"[{self.trainer}] step {step:,}  {values}", flush=True)

    def _write(self, step: int, metrics: Mapping[str, float]) -> None:
        for sink in self.sinks:
            sink.log(step, metrics)

    def end(self) -> None:
        """Training ended (or stopped): the loggers are closed."""
        self.ended = self.ended or time.perf_counter()
        for sink in self.sinks:
            sink.close()
        self.sinks = []

    def last_loss(self) -> float:
        """The last step's loss as a float (NaN before any step)."""
        loss = self.loss
        if isinstance(loss, dict):
            loss = sum(loss.values())
        if loss is None:
            return math.nan
        return float(loss.detach().float().mean()) if hasattr(loss, "detach") else float(loss)

    def summary(self, run_name: str, checkpoint: str | None, resumed: str | None) -> RunSummary:
        """The run's `RunSummary`."""
        return RunSummary(
            run_name=run_name,
            trainer=self.trainer,
            steps=self.step,
            steps_run=self.step - self.start_step,
            samples_run=self.samples,
            seconds=(self.ended or time.perf_counter()) - self.started,
            last_loss=None if self.loss is None else self.last_loss(),
            checkpoint=checkpoint,
            resumed_from=resumed,
            sample_ids=self.sample_ids,
            eval_metrics=dict(self.eval_metrics),
            eval_step=self.eval_step,
            interrupted=self.interrupted,
            first_process=self.first_process,
        )
