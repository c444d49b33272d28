"""Load a recipe: its ``includes`` (fragments from ``configs/``) first, then the recipe, then
extra fragments given on the command line, then ``key=value`` overrides, checked against
`TrainConfig` and resolved. (`check_recipe` then checks the values.)"""

from __future__ import annotations

import copy
import difflib
import os
import re
from collections.abc import Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from streaming.config.check import RecipeError, parse_duration
from streaming.config.schema import TrainConfig

__all__ = ["RecipeError", "load_recipe", "parse_duration"]


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


def _find_extra(include: str, recipe: str) -> str:
    """A command-line include: relative to the working directory, else to the recipe's root."""
    if os.path.isabs(include) or os.path.isfile(include):
        return include
    found = _find(include, os.path.abspath(recipe))
    if not os.path.isfile(found):
        raise RecipeError(f"Fragment {include!r} does not exist (nor {found!r})")
    return found


#: OmegaConf's type-conversion failure, and the words for each type.
_CONVERSION = re.compile(r"Value '(.*)' of type '\w+' could not be converted to (\w+)")
_TYPES = {"Integer": "an integer", "Float": "a number", "Boolean": "true or false"}


def _explain(e: OmegaConfBaseException) -> str:
    key = getattr(e, "full_key", None) or ""
    message = str(e).splitlines()[0]
    conversion = _CONVERSION.search(message)
    if conversion and conversion.group(2) in _TYPES:
        value, kind = conversion.group(1), _TYPES[conversion.group(2)]
        message = message.replace(conversion.group(0), f"{value!r} is not {kind}")
    return f"{key}: {message}" if key and key not in message else message


def load_recipe(
    path: str, overrides: Sequence[str] = (), includes: Sequence[str] = ()
) -> TrainConfig:
    """The recipe at `path` with `overrides` (``["train_loader.num_workers=2", ...]``), as a
    checked, resolved `TrainConfig`.

    `includes` are fragments merged after the recipe (so they win over it) and before the
    overrides, e.g. ``["configs/trainers/composer_gpu.yaml"]`` to switch trainers: each is a
    path, relative to the working directory or else to the recipe's repository root.

    Raises:
        RecipeError: a missing file, bad YAML, an unknown key (with a suggestion), a value of
            the wrong type, an override without ``=``, or a missing required value.
    """
    for item in overrides:
        if "=" not in item:
            raise RecipeError(f"override `{item}`: not key=value (e.g. max_duration=2ep)")
    schema = OmegaConf.structured(TrainConfig)
    try:
        extra = [layer for item in includes for layer in _layers(_find_extra(item, path))]
        merged = OmegaConf.merge(schema, *_layers(path), *extra)
    except OmegaConfBaseException as e:
        raise RecipeError(f"{path}: {_explain(e)}{_suggest(e)}") from e
    resolves = _resolves(merged)
    for item in overrides:
        try:
            merged = OmegaConf.merge(merged, OmegaConf.from_dotlist([item]))
            if resolves:  # the override that breaks the resolution is the one to blame
                resolves = _resolves(merged, raise_error=True)
        except OmegaConfBaseException as e:
            raise RecipeError(f"override `{item}`: {_explain(e)}{_suggest(e)}") from e
    try:
        OmegaConf.resolve(merged)
        missing = sorted(OmegaConf.missing_keys(merged))
        if missing:
            raise RecipeError(f"{path}: required value(s) not set: {', '.join(missing)}")
        obj: Any = OmegaConf.to_object(merged)
    except OmegaConfBaseException as e:
        raise RecipeError(f"{path}: {_explain(e)}{_suggest(e)}") from e
    return obj


def _resolves(cfg: DictConfig, raise_error: bool = False) -> bool:
    """Whether `cfg`'s interpolations resolve (on a copy); with `raise_error`, raise instead
    of returning False."""
    try:
        OmegaConf.resolve(copy.deepcopy(cfg))
    except OmegaConfBaseException:
        if raise_error:
            raise
        return False
    return True


def _suggest(e: OmegaConfBaseException) -> str:
    """A "did you mean" for an unknown key, when OmegaConf's message has none (never for a
    known key whose value is wrong)."""
    key = str(getattr(e, "key", "") or "")
    if not key or "Did you mean" in str(e) or not isinstance(e, ConfigKeyError):
        return ""
    fields = list(TrainConfig.__dataclass_fields__)
    close = difflib.get_close_matches(key, fields, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
