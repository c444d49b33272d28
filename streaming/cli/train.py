"""``streaming train RECIPE.yaml [key=value ...]``: load a recipe, check it, and train it with
the trainer it names (``trainer.kind``: ``lightning`` or ``composer``).

The recipe's ``includes`` come first, then the recipe, then ``--include`` fragments (e.g.
``configs/trainers/composer_gpu.yaml`` or ``configs/storage/s3.yaml``), then the ``key=value``
overrides. A wrong key or value is one ``error:`` line naming it. ``--dry-run`` prints the
resolved recipe and exits. The trainers are imported only to train
(`streaming.integrations.recipes`).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from streaming.cli.errors import UsageError

HELP = "train a recipe (YAML) with Lightning or Composer: streaming train RECIPE.yaml [key=value]"

_HINT = "`streaming train RECIPE.yaml --dry-run` prints the resolved recipe; see recipes/*.yaml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options (also accepted among the overrides, after the recipe)."""
    parser.add_argument("recipe", help="the recipe, e.g. recipes/cifar10.yaml")
    parser.add_argument(
        "overrides", nargs=argparse.REMAINDER, metavar="key=value ...",
        help="override any setting, e.g. max_duration=2ep train_loader.dataset.decode=cpu",
    )  # fmt: skip
    _options(parser)


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--include", action="append", default=[], metavar="FRAGMENT",
        help="merge a config fragment after the recipe, e.g. configs/trainers/composer_gpu.yaml "
        "(repeatable)",
    )  # fmt: skip
    parser.add_argument("--dry-run", action="store_true", help="print the resolved recipe and exit")
    parser.add_argument(
        "--record-ids", metavar="FILE",
        help="write the sample ids of each training step to FILE (JSON), to audit the order",
    )  # fmt: skip


def _late_options(args: argparse.Namespace) -> None:
    """Options given after the recipe, among the overrides, moved onto `args`."""
    late = argparse.ArgumentParser(prog="streaming train RECIPE.yaml")
    late.add_argument("overrides", nargs="*")
    late.add_argument("--debug", action="store_true")
    _options(late)
    more = late.parse_intermixed_args(args.overrides)
    args.overrides = more.overrides
    args.include = [*args.include, *more.include]
    args.dry_run = args.dry_run or more.dry_run
    args.record_ids = more.record_ids or args.record_ids
    args.debug = args.debug or more.debug


def _resolved(cfg: Any) -> str:
    from omegaconf import OmegaConf

    world = cfg.trainer.devices * cfg.trainer.num_nodes
    lines = [
        OmegaConf.to_yaml(OmegaConf.structured(cfg)).rstrip(),
        f"# {cfg.trainer.kind} on {world} {cfg.trainer.accelerator} device(s), "
        f"{cfg.global_train_batch_size // world} samples per device per step",
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Load, check and train the recipe (or print it, with ``--dry-run``)."""
    from streaming.config import RecipeError, check_recipe, load_recipe

    _late_options(args)
    try:
        cfg = check_recipe(load_recipe(args.recipe, args.overrides, args.include))
        if args.dry_run:
            from streaming.integrations.recipes.models import MODELS

            if cfg.model.name not in MODELS:
                raise RecipeError(
                    f"model.name: unknown model {cfg.model.name!r}; one of {', '.join(MODELS)}"
                )
            print(_resolved(cfg))
            return 0
        from streaming.integrations.recipes import run_recipe

        summary = run_recipe(cfg, record_ids=args.record_ids is not None)
    except RecipeError as e:
        message = str(e) if str(e).startswith(args.recipe) else f"{args.recipe}: {e}"
        raise UsageError(message, _HINT) from None
    print(summary.format(), flush=True)
    if args.record_ids is not None:
        with open(args.record_ids, "w") as f:
            json.dump(summary.sample_ids, f)
    return 0
