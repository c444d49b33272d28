"""The Lightning internals the cursor depends on, in one place.

Lightning has no public API for two things the sample-exact resume needs:

* whether the batch just trained is the epoch's last: ``trainer.fit_loop.epoch_loop
  .batch_progress.is_last_batch`` (set before ``on_train_batch_end``; needed when the loader's
  length is unknown or ``limit_train_batches`` cuts the epoch);
* whether a resumed fit first re-enters the epoch it ended: the checkpoint's
  ``loops.fit_loop.epoch_progress.total`` counters (``ready``, ``started``, ``processed``,
  ``completed``).

Both are read only here. If a Lightning release moves them, the accessors raise
`LightningInternalsError` naming the Lightning version and the attribute, instead of resuming at
the wrong sample; ``tests/integrations/test_contract.py`` checks them on the installed release.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl

__all__ = [
    "BATCH_PROGRESS",
    "EPOCH_PROGRESS_KEYS",
    "LightningInternalsError",
    "epoch_progress_total",
    "is_last_batch",
    "replays_ended_epoch",
]

#: Where the fit loop keeps the progress of the current epoch's batches.
BATCH_PROGRESS = "trainer.fit_loop.epoch_loop.batch_progress.is_last_batch"

#: Where a checkpoint keeps the fit loop's epoch counters.
EPOCH_PROGRESS_KEYS = ("loops", "fit_loop", "epoch_progress", "total")

#: The counters read there.
EPOCH_COUNTERS = ("ready", "started", "processed", "completed")


class LightningInternalsError(RuntimeError):
    """A Lightning internal the sample-exact resume reads is missing or changed shape (a Lightning
    release moved it)."""


def _moved(what: str, detail: str) -> LightningInternalsError:
    return LightningInternalsError(
        f"Lightning {pl.__version__}: `{what}` {detail}. streaming.integrations.lightning reads "
        "it to resume at the exact sample; this Lightning release moved it. Use the Lightning "
        "version this package pins, or update streaming/integrations/_lightning_loops.py."
    )


def is_last_batch(trainer: pl.Trainer) -> bool:
    """Whether the training batch being ended is the epoch's last, as the fit loop knows it."""
    obj: Any = trainer
    path = BATCH_PROGRESS.split(".")[1:]
    for depth, name in enumerate(path):
        if not hasattr(obj, name):
            where = ".".join(["trainer", *path[: depth + 1]])
            raise _moved(where, f"does not exist (no attribute {name!r} on {type(obj).__name__})")
        obj = getattr(obj, name)
    if not isinstance(obj, bool):
        raise _moved(BATCH_PROGRESS, f"is a {type(obj).__name__}, not a bool")
    return obj


def epoch_progress_total(checkpoint: dict[str, Any]) -> dict[str, int] | None:
    """The fit loop's epoch counters saved in `checkpoint` (None for a checkpoint without loop
    state, e.g. weights saved by hand)."""
    if "loops" not in checkpoint:
        return None
    obj: Any = checkpoint
    for depth, key in enumerate(EPOCH_PROGRESS_KEYS):
        if not isinstance(obj, dict) or key not in obj:
            where = "checkpoint" + "".join(f"[{k!r}]" for k in EPOCH_PROGRESS_KEYS[: depth + 1])
            raise _moved(where, "is missing from the checkpoint")
        obj = obj[key]
    missing = [name for name in EPOCH_COUNTERS if not isinstance(obj.get(name), int)]
    if missing:
        where = "checkpoint" + "".join(f"[{k!r}]" for k in EPOCH_PROGRESS_KEYS)
        raise _moved(where, f"has no integer counter {', '.join(map(repr, missing))}")
    return {name: obj[name] for name in EPOCH_COUNTERS}


def replays_ended_epoch(trainer: pl.Trainer, checkpoint: dict[str, Any]) -> bool:
    """Whether Lightning, resuming from `checkpoint`, first re-enters the epoch it ended.

    It does for a checkpoint saved in ``on_train_epoch_end`` when training is iteration-based
    (``max_steps``): the fit loop restarts that epoch and trains whatever the train loader's first
    iterator still yields (``FitLoop.restarting``, ``RestartStage.RESTARTED_ON_EPOCH_END``).
    """
    if trainer.max_steps == -1:
        return False
    total = epoch_progress_total(checkpoint)
    if total is None:
        return False
    return total["ready"] == total["started"] == total["processed"] == total["completed"] + 1
