"""Load a recipe: its ``includes`` (fragments from ``configs/``) first, then the recipe, then
command-line ``key=value`` overrides, checked against `TrainConfig` and resolved."""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from streaming.config.schema import TrainConfig

__all__ = ["RecipeError", "load_recipe", "parse_duration"]


class RecipeError(ValueError):
    """A recipe that cannot be loaded: the message names the file, the key and what to do."""


def _read(path: str) -> DictConfig:
    if not os.path.isfile(path):
        raise RecipeError(f"Recipe file {path!r} does not exist")
    try:
        cfg = OmegaConf.load(path)
    except Exception as e:  # yaml errors: one line
        raise RecipeError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(cfg, DictConfig):
        raise RecipeError(f"{path}: a recipe must be a mapping of keys, got a list")
    return cfg


def _layers(path: str, seen: tuple[str, ...] = ()) -> list[DictConfig]:
    """The fragments `path` includes (recursively, in order), then `path` itself."""
    path = os.path.abspath(path)
    if path in seen:
        raise RecipeError(f"{path}: includes itself (through {' -> '.join(seen)})")
    cfg = _read(path)
    layers: list[DictConfig] = []
    for include in cfg.get("includes") or []:
        target = include if os.path.isabs(include) else _find(include, path)
        layers += _layers(target, (*seen, path))
    return [*layers, cfg]


def _find(include: str, recipe: str) -> str:
    """An include is relative to the recipe's folder, or to the repository root (``configs/``)."""
    here = os.path.join(os.path.dirname(recipe), include)
    if os.path.isfile(here):
        return here
    root = os.path.dirname(os.path.dirname(recipe))
    return os.path.join(root, include)


def _explain(e: OmegaConfBaseException) -> str:
    key = getattr(e, "full_key", None) or ""
    message = str(e).splitlines()[0]
    return f"{key}: {message}" if key and key not in message else message


def load_recipe(path: str, overrides: Sequence[str] = ()) -> TrainConfig:
    """The recipe at `path` with `overrides` (``["train_loader.num_workers=2", ...]``), as a
    checked, resolved `TrainConfig`.

    Raises:
        RecipeError: a missing file, bad YAML, an unknown key (with a suggestion), a value of
            the wrong type, an override without ``=``, or a missing required value.
    """
    for item in overrides:
        if "=" not in item:
            raise RecipeError(f"Override {item!r} is not key=value")
    schema = OmegaConf.structured(TrainConfig)
    try:
        merged = OmegaConf.merge(schema, *_layers(path), OmegaConf.from_dotlist(list(overrides)))
        OmegaConf.resolve(merged)
        missing = sorted(OmegaConf.missing_keys(merged))
        if missing:
            raise RecipeError(f"{path}: required value(s) not set: {', '.join(missing)}")
        obj: Any = OmegaConf.to_object(merged)
    except OmegaConfBaseException as e:
        raise RecipeError(f"{path}: {_explain(e)}{_suggest(e)}") from e
    return obj


def _suggest(e: OmegaConfBaseException) -> str:
    """A "did you mean" for an unknown key, when OmegaConf's message has none."""
    key = str(getattr(e, "key", "") or "")
    if not key or "Did you mean" in str(e):
        return ""
    fields = list(TrainConfig.__dataclass_fields__)
    close = difflib.get_close_matches(key, fields, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_duration(value: str) -> tuple[int, str]:
    """``"2ep"`` -> (2, "ep"); ``"100ba"`` -> (100, "ba"); ``"5000sp"`` -> (5000, "sp")."""
    for unit in ("ep", "ba", "sp"):
        if value.endswith(unit) and value[: -len(unit)].isdigit():
            return int(value[: -len(unit)]), unit
    raise RecipeError(
        f"Duration {value!r} is not <number>ep, <number>ba or <number>sp (epochs, batches, "
        "samples), e.g. max_duration=2ep"
    )
