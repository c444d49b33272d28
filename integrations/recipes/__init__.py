"""Run a recipe (`streaming.config.TrainConfig`) on Lightning or Composer.

``streaming train RECIPE.yaml`` calls `run_recipe`; so can Python::

    from streaming.config import check_recipe, load_recipe
    from streaming.integrations.recipes import run_recipe

    summary = run_recipe(check_recipe(load_recipe("recipes/cifar10.yaml", ["max_duration=10ba"])))
    print(summary.format())

The pieces: `models` (one small reference model per task, shared by both trainers), `data` and
`transforms` (each dataset's reader, transforms, collate and device stage), `build` (batch per
device, loaders, model and optimizer from the recipe), and one runner per trainer
(`lightning_run`, `composer_run`), imported only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from streaming.config import TrainConfig
    from streaming.integrations.recipes.interrupt import Interrupt
    from streaming.integrations.recipes.report import RunSummary

__all__ = ["run_recipe"]


def run_recipe(
    cfg: TrainConfig, record_ids: bool = False, verbose: bool = True,
    interrupt: Interrupt | None = None,
) -> RunSummary:  # fmt: skip
    """Train the (checked) recipe `cfg` with the trainer it names; its `RunSummary`.

    Args:
        cfg: a recipe from `streaming.config.load_recipe`, checked by `check_recipe`.
        record_ids: keep the sample ids of every step (``RunSummary.sample_ids``).
        verbose: print progress lines (the first process only).
        interrupt: an installed `Interrupt`: SIGINT or SIGTERM then stops the run after the
            current step, with a checkpoint there (``RunSummary.interrupted``).
    """
    from streaming.integrations.recipes.build import plan_run
    from streaming.integrations.recipes.preflight import check_accelerator

    check_accelerator(cfg)

    if cfg.trainer.kind == "composer":
        from streaming.integrations.recipes import composer_run as runner

        world = runner.world_size(cfg.trainer.devices * cfg.trainer.num_nodes)
    else:
        from streaming.integrations.recipes import lightning_run as runner  # type: ignore[no-redef]

        world = cfg.trainer.devices * cfg.trainer.num_nodes
    plan = plan_run(cfg, world)
    return runner.run(plan, record_ids=record_ids, verbose=verbose, interrupt=interrupt)
