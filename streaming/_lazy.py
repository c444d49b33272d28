"""Attributes of a package imported on first use (PEP 562), so that importing it stays light.

A package lists each public name with the module that defines it; ``from package import Name``
and ``package.Name`` import that module then, and keep the object in the package's namespace.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_getattr(
    package: str, names: Mapping[str, str], submodules: bool = False
) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` for `package`.

    Args:
        package: the package's ``__name__``.
        names: public name -> the module it is imported from.
        submodules: also resolve ``package.<submodule>`` by importing it (for a package that
            used to import its submodules eagerly, so that ``import package`` then
            ``package.sub.X`` keeps working).
    """

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is not None:
            value = getattr(importlib.import_module(module), name)
        elif submodules and not name.startswith("_") and _has_submodule(package, name):
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__


def by_module(modules: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """``{name: module}`` for `lazy_getattr`, from each module and the names it exports."""
    return {name: module for module, names in modules.items() for name in names}


def _has_submodule(package: str, name: str) -> bool:
    try:
        return importlib.util.find_spec(f"{package}.{name}") is not None
    except (ImportError, ValueError):
        return False
