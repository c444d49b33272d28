"""The recipe's ``loggers``: where a run's training loss and evaluation metrics are written, the
same way on both trainers.

``loggers: {csv: {log_dir: ./logs/my-run}}`` appends ``step,metric,value`` rows to
``<log_dir>/metrics.csv`` (``train/loss`` every ``trainer.log_every`` steps, ``eval/<name>`` after
each evaluation; a resumed run appends to the same file). ``tensorboard: {log_dir: ...}`` writes
the same scalars as TensorBoard events (it needs the ``tensorboard`` package). ``log_dir``
defaults to ``./logs/<run_name>``. Only the first process writes.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from typing import Any, Protocol

CSV_NAME = "metrics.csv"
CSV_HEADER = ("step", "metric", "value")


class MetricSink(Protocol):
    """Where `Progress` writes metrics."""

    def log(self, step: int, metrics: Mapping[str, float]) -> None:
        """Write `metrics` as of optimizer step `step`."""

    def close(self) -> None:
        """Flush and close."""


class CSVSink:
    """Appends ``step,metric,value`` rows to ``<log_dir>/metrics.csv`` (the header once); the
    file is opened at the first row."""

    def __init__(self, log_dir: str) -> None:
        self.path = os.path.join(log_dir, CSV_NAME)
        self._file: Any = None

    def log(self, step: int, metrics: Mapping[str, float]) -> None:
        if self._file is None:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            new = not os.path.exists(self.path) or os.path.getsize(self.path) == 0
            self._file = open(self.path, "a", newline="")  # noqa: SIM115 (closed by close())
            if new:
                csv.writer(self._file).writerow(CSV_HEADER)
        writer = csv.writer(self._file)
        for name, value in metrics.items():
            writer.writerow((step, name, repr(float(value))))
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class TensorBoardSink:
    """TensorBoard event files in `log_dir` (`torch.utils.tensorboard.SummaryWriter`, created
    at the first value)."""

    def __init__(self, log_dir: str) -> None:
        self.log_dir = log_dir
        self.writer: Any = None

    def log(self, step: int, metrics: Mapping[str, float]) -> None:
        if self.writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=self.log_dir)
        for name, value in metrics.items():
            self.writer.add_scalar(name, float(value), step)
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def build_sinks(loggers: Mapping[str, Mapping[str, Any] | None], run_name: str) -> list[MetricSink]:
    """One sink per configured logger (the recipe's, checked by `check_recipe`)."""
    sinks: list[MetricSink] = []
    for name, settings in loggers.items():
        log_dir = str((settings or {}).get("log_dir") or os.path.join("logs", run_name))
        sinks.append(CSVSink(log_dir) if name == "csv" else TensorBoardSink(log_dir))
    return sinks
