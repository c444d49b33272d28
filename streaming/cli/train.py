"""``streaming train RECIPE.yaml [key=value ...]``: load a recipe, check it, and train it with
the trainer it names (``trainer.kind``: ``lightning`` or ``composer``).

The recipe's ``includes`` come first, then the recipe, then ``--include`` fragments (e.g.
``configs/trainers/composer_gpu.yaml`` or ``configs/storage/s3.yaml``), then the ``key=value``
overrides. A wrong key or value is one ``error:`` line naming it (and the override that set it).
``--dry-run`` prints the resolved recipe and exits. The trainers are imported only to train
(`streaming.integrations.recipes`).

Ctrl-C (SIGINT) or SIGTERM stops training after the current step, saves a checkpoint there,
writes ``--record-ids``, prints the command that resumes, and exits 130.
"""

from __future__ import annotations

import argparse
import json
import shlex
from typing import Any

from streaming.cli.errors import INTERRUPTED, UsageError

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
        help="write the sample ids of each training step to FILE (JSON), to audit the order "
        "(the first process's, with several)",
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
        from streaming.integrations.recipes.interrupt import Interrupt

        with Interrupt() as interrupt:
            summary = run_recipe(cfg, record_ids=args.record_ids is not None, interrupt=interrupt)
    except RecipeError as e:
        raise UsageError(_where(e, args), _HINT) from None
    if summary.first_process:  # the run's first process reports for all
        print(summary.format(), flush=True)
        if args.record_ids is not None:
            with open(args.record_ids, "w") as f:
                json.dump(summary.sample_ids, f)
        if summary.interrupted is not None:
            print(_interrupted(summary, cfg, args), flush=True)
    return 0 if summary.interrupted is None else INTERRUPTED


def _where(e: Exception, args: argparse.Namespace) -> str:
    """`e`'s message, prefixed with what set the value at fault: the override that set its key
    (``override `max_duration=abc`: ...``), else the recipe file."""
    message = str(e)
    if message.startswith(("override `", args.recipe)):
        return message
    key = getattr(e, "key", None) or message.split(": ", 1)[0]
    for item in reversed(args.overrides):
        name = item.split("=", 1)[0]
        if key == name or key.startswith(name + ".") or name.startswith(key + "."):
            return f"override `{item}`: {message}"
    return f"{args.recipe}: {message}"


def resume_command(
    args: argparse.Namespace, checkpoint: str | None, autoresume: bool, launcher: int = 0
) -> str:
    """The ``streaming train`` command that resumes this run from `checkpoint`: the same one
    when the recipe autoresumes, else the same with ``load_path=<checkpoint>``; through
    Composer's launcher (``composer -n N -m streaming.cli.main train ...``) when `launcher` is
    its process count."""
    overrides = list(args.overrides)
    if checkpoint and not autoresume:
        overrides = [o for o in overrides if not o.startswith("load_path=")]
        overrides.append(f"load_path={checkpoint}")
    words = ["streaming", "train", args.recipe, *overrides]
    if launcher:
        words[:1] = ["composer", "-n", str(launcher), "-m", "streaming.cli.main"]
    for fragment in args.include:
        words += ["--include", fragment]
    if args.record_ids is not None:
        words += ["--record-ids", args.record_ids]
    return shlex.join(words)


def _interrupted(summary: Any, cfg: Any, args: argparse.Namespace) -> str:
    head = f"interrupted ({summary.interrupted}) at step {summary.steps}"
    if not summary.checkpoint:
        return f"{head}; no checkpoint saved (the recipe sets no save_folder)"
    how = "run the same command to resume" if cfg.autoresume else "resume with"
    devices = cfg.trainer.devices
    launcher = devices if cfg.trainer.kind == "composer" and devices > 1 else 0
    command = resume_command(args, summary.checkpoint, cfg.autoresume, launcher)
    return f"{head}; checkpoint saved to {summary.checkpoint}; {how}: {command}"
