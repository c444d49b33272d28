"""``streaming.base``: mosaicml-streaming 0.13.0's module paths, as thin layers over this library.

Code written for mosaicml-streaming imports from ``streaming.base.*``; every public module path
it used resolves here to our own objects (``streaming.base.StreamingDataset`` *is*
``streaming.StreamingDataset``). The peer's shared-memory internals (``streaming.base.shared``,
``streaming.base.spanner``) have no counterpart and raise an `ImportError` saying so.
"""

from streaming._lazy import by_module, lazy_getattr

# Imported on first use, as `streaming` does.
_LAZY = by_module(
    {
        "streaming.base.format": ("CSVWriter", "JSONWriter", "MDSWriter", "TSVWriter", "XSVWriter"),
        "streaming.local": ("LocalDataset",),
        "streaming.dataset": ("StreamingDataset",),
        "streaming.stream": ("Stream",),
        "streaming.loader": ("StreamingDataLoader",),
    }
)

__getattr__ = lazy_getattr(__name__, _LAZY, submodules=True)

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
