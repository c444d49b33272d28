"""Named registries of constructors, with mosaicml-streaming 0.13.0's API
(``streaming.base.registry_utils``) and its streams registry.

``StreamingDataset(stream_name=..., stream_config=...)`` builds its single stream (the one made
from ``remote``/``local``) with the class registered under `stream_name` in `streams_registry`,
so a project can plug in its own `Stream` subclass::

    from streaming.registry import streams_registry

    streams_registry.register("my_stream", func=MyStream)
    StreamingDataset(remote=..., local=..., stream_name="my_stream", stream_config={...})

The peer builds its registries on the ``catalogue`` package; these are plain dictionaries with
the same calls (``register`` as a call or a decorator, ``get``, ``get_all``, ``__contains__``,
entry points in the group ``"_".join(namespace)``, e.g. ``streaming_streams_registry``), so no
dependency is needed. A missing name raises `RegistryError` (a ``ValueError``, as catalogue's).
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, Generic, TypeVar

__all__ = [
    "REGISTRY",
    "RegistryError",
    "TypedRegistry",
    "check_exists",
    "construct_from_registry",
    "create_registry",
    "import_file",
    "save_registry",
    "streams_registry",
]

T = TypeVar("T")

#: Every registered object, keyed by ``(*namespace, name)`` (catalogue's ``REGISTRY``).
REGISTRY: dict[tuple[str, ...], Any] = {}


class RegistryError(ValueError):
    """A registry was asked for a name it does not hold, or created twice."""


def check_exists(*namespace: str) -> bool:
    """Whether `namespace` is a key of `REGISTRY` (catalogue's ``check_exists``)."""
    return namespace in REGISTRY


class TypedRegistry(Generic[T]):
    """A named registry of constructors (classes or functions) of type `T`.

    Args:
        namespace: Where its entries live, e.g. ``("streaming", "streams_registry")``.
        entry_points: Also find names in the installed packages' entry points of the group
            ``"_".join(namespace)``.
        description: What the registry holds.
    """

    def __init__(
        self, namespace: Sequence[str], entry_points: bool = False, description: str = ""
    ) -> None:
        self.namespace = tuple(namespace)
        self.entry_point_namespace = "_".join(self.namespace)
        self.entry_points = entry_points
        self.description = description

    def __contains__(self, name: str) -> bool:
        if (*self.namespace, name) in REGISTRY:
            return True
        return self.entry_points and name in self._entry_point_names()

    def __call__(self, name: str, func: T | None = None) -> Callable[[T], T]:
        """Register `func` under `name`; without `func`, a decorator that registers its target."""
        return self.register(name, func=func)

    def register(self, name: str, *, func: T | None = None) -> Any:
        """Register `func` under `name` (replacing an earlier entry) and return it; without
        `func`, return a decorator that does so."""

        def do_registration(target: T) -> T:
            REGISTRY[(*self.namespace, name)] = target
            return target

        if func is not None:
            return do_registration(func)
        return do_registration

    def register_class(self, name: str, *, func: Any = None) -> Any:
        """`register` for classes."""
        return self.register(name, func=func)

    def get(self, name: str) -> T:
        """The entry registered under `name` (or, with entry points on, an installed package's)."""
        key = (*self.namespace, name)
        if key in REGISTRY:
            return REGISTRY[key]
        if self.entry_points:
            found = self.get_entry_point(name)
            if found is not None:
                return found
        available = ", ".join(sorted(self.get_all())) or "none"
        raise RegistryError(
            f"Cant't find '{name}' in registry {' -> '.join(self.namespace)}. "
            f"Available names: {available}"
        )

    def get_all(self) -> dict[str, T]:
        """All entries by name (those of entry points first, registered ones over them)."""
        result: dict[str, T] = {}
        if self.entry_points:
            result.update(self.get_entry_points())
        n = len(self.namespace)
        for key, value in REGISTRY.items():
            if len(key) == n + 1 and key[:n] == self.namespace:
                result[key[n]] = value
        return result

    def _entry_points(self) -> Iterator[Any]:
        from importlib.metadata import entry_points

        yield from entry_points(group=self.entry_point_namespace)

    def _entry_point_names(self) -> set[str]:
        return {ep.name for ep in self._entry_points()}

    def get_entry_point(self, name: str, default: T | None = None) -> T | None:
        """The object of the installed entry point `name` of this registry's group, else
        `default`."""
        for ep in self._entry_points():
            if ep.name == name:
                return ep.load()
        return default

    def get_entry_points(self) -> dict[str, T]:
        """The objects of all installed entry points of this registry's group, by name."""
        return {ep.name: ep.load() for ep in self._entry_points()}


def create_registry(
    *namespace: str,
    generic_type: type[Any],
    entry_points: bool = False,
    description: str = "",
) -> TypedRegistry[Any]:
    """A new registry under `namespace` (e.g. ``create_registry("streaming",
    "streams_registry", generic_type=type[Stream])``).

    Raises:
        RegistryError: `namespace` is already a key of `REGISTRY`.
    """
    del generic_type  # typing only
    if check_exists(*namespace):
        raise RegistryError(f"Namespace already exists: {namespace}")
    return TypedRegistry(namespace, entry_points=entry_points, description=description)


def construct_from_registry(
    name: str,
    registry: TypedRegistry[Any],
    partial_function: bool = True,
    pre_validation_function: Callable[[Any], None] | type | None = None,
    post_validation_function: Callable[[Any], None] | None = None,
    kwargs: dict[str, Any] | None = None,
) -> Any:
    """Build the entry `name` of `registry` with `kwargs`.

    A class (or, with ``partial_function=False``, any callable) is called with `kwargs`; a
    function gives ``functools.partial(function, **kwargs)``.

    Args:
        name: The registered name.
        registry: Where to look it up.
        partial_function: Return a partial of a registered function instead of calling it.
        pre_validation_function: A type the entry must be a subclass of, or a callable that
            raises if the entry is unfit; checked before building.
        post_validation_function: A callable that raises if the built object is unfit.
        kwargs: Keyword arguments for the constructor.

    Raises:
        RegistryError: `name` is not registered.
        ValueError: The entry fails `pre_validation_function` or is not callable.
    """
    kwargs = {} if kwargs is None else kwargs
    constructor = registry.get(name)
    if pre_validation_function is not None:
        if isinstance(pre_validation_function, type):
            if not (
                isinstance(constructor, type) and issubclass(constructor, pre_validation_function)
            ):
                raise ValueError(
                    f"Expected {name} to be of type {pre_validation_function}, but got "
                    f"{type(constructor)}"
                )
        elif callable(pre_validation_function):
            pre_validation_function(constructor)
        else:
            raise ValueError(
                "Expected pre_validation_function to be a callable or a type, but got "
                f"{type(pre_validation_function)}"
            )
    if isinstance(constructor, type) or (callable(constructor) and not partial_function):
        built = constructor(**kwargs)
    elif callable(constructor):
        built = functools.partial(constructor, **kwargs)
    else:
        raise ValueError(f"Expected {name} to be a class or function, but got {type(constructor)}")
    if post_validation_function is not None:
        post_validation_function(built)
    return built


def import_file(loc: str | Path) -> ModuleType:
    """Import the Python file `loc` as a module (to run code that registers entries)."""
    if not os.path.exists(loc):
        raise FileNotFoundError(f"File {loc} does not exist.")
    spec = importlib.util.spec_from_file_location("python_code", str(loc))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        raise RuntimeError(f"Error executing {loc}") from e
    return module


@contextmanager
def save_registry() -> Iterator[None]:
    """Undo, on exit, every registration made inside the block."""
    saved = copy.copy(REGISTRY)
    try:
        yield
    finally:
        REGISTRY.clear()
        REGISTRY.update(saved)


def _streams_registry() -> TypedRegistry[Any]:
    from streaming.stream import Stream

    registry = create_registry(
        "streaming",
        "streams_registry",
        generic_type=type[Stream],
        entry_points=True,
        description="The streams registry is used for registering Stream classes.",
    )
    registry.register("stream", func=Stream)
    return registry


#: The `Stream` classes `StreamingDataset` can build by ``stream_name`` (``"stream"``: `Stream`).
streams_registry: TypedRegistry[Any] = _streams_registry()
