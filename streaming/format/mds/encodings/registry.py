"""User-defined MDS encodings: the `Encoding` base class and the live name -> class registry.

mosaicml-streaming lets users add an encoding by subclassing its ``Encoding`` and putting the
class in its module-level ``_encodings`` dict. The same works here: `ENCODINGS` is that dict
(re-exported as ``_encodings``), and the writer and readers consult it, so an entry added either
way (``register_encoding(name, cls)`` or ``_encodings[name] = cls``) is used by `MDSWriter`,
`LocalDataset` and `StreamingDataset` alike. Changing the dict forgets the cached coders, so a
replaced entry takes effect at once for writers and shards opened afterwards.

The built-in names map to thin `Encoding` classes over our own coders, so
``_encodings["int"]().encode(7)`` behaves as the peer's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streaming.format.mds.encodings.base import Coder, passing_bytes


class Encoding:
    """Base class of a custom MDS encoding: between objects of one type and raw bytes.

    Subclass it, implement `encode` and `decode`, and set the class attribute `size` to the
    fixed number of bytes of every encoded value (None, the default, if it varies)::

        class Point(Encoding):
            size = 8

            def encode(self, obj):
                return struct.pack("<ff", *obj)

            def decode(self, data):
                return struct.unpack("<ff", data)

        register_encoding("point", Point)

    The class is instantiated with no arguments. An encoding named ``"name:config"`` is made by
    ``cls.from_str(config)`` when the class defines that classmethod (as ``ndarray`` does).
    Decoding reads only trusted bytes written by `encode`; `decode` receives `bytes`.
    """

    size: int | None = None

    def encode(self, obj: Any) -> bytes:
        """Encode `obj` to bytes."""
        raise NotImplementedError(f"{type(self).__name__}.encode is not implemented")

    def decode(self, data: bytes) -> Any:
        """Decode bytes made by `encode` back into the object."""
        raise NotImplementedError(f"{type(self).__name__}.decode is not implemented")

    @staticmethod
    def _validate(data: Any, expected_type: Any) -> None:
        """Raise `AttributeError` unless `data` is an `expected_type` (the peer's helper)."""
        if not isinstance(data, expected_type):
            raise AttributeError(
                f"data should be of type {expected_type}, but instead, found as {type(data)}"
            )


class BuiltinEncoding(Encoding):
    """An `Encoding` over one of our built-in coders; subclasses set `encoding` (the name)."""

    encoding: str = ""
    #: The coder factory, for `get_coder` to use directly (no per-value indirection).
    factory: Callable[[], Coder]

    def __init__(self) -> None:
        self._coder = type(self).factory()
        self.size = self._coder.size

    def encode(self, obj: Any) -> bytes:
        return self._coder.encode(obj)

    def decode(self, data: bytes) -> Any:
        return self._coder.decode(data)


def builtin_class(name: str, factory: Callable[[], Coder]) -> type[BuiltinEncoding]:
    """The `Encoding` class that stands for built-in encoding `name` in the registry."""
    title = "".join(part.capitalize() for part in name.replace("[", "_").strip("]").split("_"))
    return type(
        f"{title}Encoding",
        (BuiltinEncoding,),
        {"encoding": name, "factory": staticmethod(factory), "__module__": __name__},
    )


class EncodingRegistry(dict):
    """Encoding name -> `Encoding` class; every change forgets the coders cached from it."""

    def __init__(self, *args: Any, on_change: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_change = on_change

    def _changed(self) -> None:
        self._on_change()

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self._changed()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._changed()

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self._changed()

    def pop(self, *args: Any) -> Any:
        value = super().pop(*args)
        self._changed()
        return value

    def popitem(self) -> tuple[str, Any]:
        item = super().popitem()
        self._changed()
        return item

    def setdefault(self, key: str, default: Any = None) -> Any:
        value = super().setdefault(key, default)
        self._changed()
        return value

    def clear(self) -> None:
        super().clear()
        self._changed()

    def __ior__(self, other: Any) -> EncodingRegistry:
        super().__ior__(other)
        self._changed()
        return self


def custom_coder(encoding: str, cls: Any, config: str | None) -> Coder:
    """The `Coder` of a user-registered encoding class (``config``: the part after ``:``)."""
    instance = cls() if config is None else cls.from_str(config)
    decode = instance.decode
    size = getattr(instance, "size", None)
    return Coder(
        encoding,
        passing_bytes(instance.encode),
        lambda data: decode(bytes(data)),  # readers hand out memoryviews; users expect bytes
        size=size,
        safe=True,
    )
