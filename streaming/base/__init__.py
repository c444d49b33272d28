"""``streaming.base``: mosaicml-streaming 0.13.0's module paths, as thin layers over this library.

Code written for mosaicml-streaming imports from ``streaming.base.*``; every public module path
it used resolves here to our own objects (``streaming.base.StreamingDataset`` *is*
``streaming.StreamingDataset``). The peer's shared-memory internals (``streaming.base.shared``,
``streaming.base.spanner``) have no counterpart and raise an `ImportError` saying so.
"""

from streaming.base.format import CSVWriter, JSONWriter, MDSWriter, TSVWriter, XSVWriter
from streaming.local import LocalDataset

# torch-backed objects, imported on first use (as `streaming` does).
_LAZY = {
    "StreamingDataset": "streaming.dataset",
    "Stream": "streaming.stream",
    "StreamingDataLoader": "streaming.loader",
}


def __getattr__(name: str):  # noqa: ANN202 - the types are those of the lazy objects
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'streaming.base' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "StreamingDataLoader",
    "Stream",
    "StreamingDataset",
    "CSVWriter",
    "JSONWriter",
    "LocalDataset",
    "MDSWriter",
    "TSVWriter",
    "XSVWriter",
]
