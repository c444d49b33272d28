"""Data-stall metrics, seen from the training loop: a stall shows before it costs a day.

Both adapters log the same names through the trainer's own loggers:

* ``data/wait_s``: seconds between the end of one training step and the start of the next,
  which is where the loop waits for its batch (it also holds per-step hooks such as logging);
* ``data/samples_per_s``: samples trained per second over all ranks, step to step;
* ``data/cache_hits``, ``data/cache_misses``, ``data/bytes_downloaded``: the dataset's cache
  counters, when the dataset reports them (a ``cache_stats()`` method returning a mapping with
  ``hits``, ``misses`` and ``bytes_downloaded``).
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["StallMeter"]

_CACHE_KEYS = {
    "hits": "cache_hits",
    "misses": "cache_misses",
    "bytes_downloaded": "bytes_downloaded",
}


class StallMeter:
    """Times the steps of a training loop: call `batch_start` and `batch_end` around each step."""

    def __init__(self) -> None:
        self._last_end: float | None = None
        self._wait: float | None = None

    def batch_start(self) -> None:
        """The step's batch has arrived."""
        if self._last_end is not None:
            self._wait = time.perf_counter() - self._last_end

    def batch_end(self, num_samples: int, dataset: Any = None) -> dict[str, float]:
        """The step is done: its metrics, `num_samples` being the step's samples over all ranks."""
        now = time.perf_counter()
        metrics: dict[str, float] = {}
        if self._last_end is not None and self._wait is not None:
            metrics["data/wait_s"] = self._wait
            metrics["data/samples_per_s"] = num_samples / max(now - self._last_end, 1e-9)
        self._last_end = now
        stats = getattr(dataset, "cache_stats", None)
        if callable(stats):
            for key, value in stats().items():
                if key in _CACHE_KEYS:
                    metrics[f"data/{_CACHE_KEYS[key]}"] = float(value)
        return metrics
