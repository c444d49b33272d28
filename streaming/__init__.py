"""streaming: fast, deterministic, resumable training data from object storage.

Reads and writes mosaicml-streaming's MDS datasets byte for byte. Importing it is light: it
never imports torch, Lightning or Composer.
"""

from streaming.format import (
    CSVWriter,
    JSONWriter,
    MDSWriter,
    TSVWriter,
    XSVWriter,
    merge_index,
)
from streaming.local import LocalDataset

__version__ = "0.1.0"

# torch-backed objects, imported on first use so that `import streaming` stays light.
_LAZY = {
    "StreamingDataset": "streaming.dataset",
    "Stream": "streaming.stream",
    "StreamingDataLoader": "streaming.loader",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'streaming' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "CSVWriter",
    "JSONWriter",
    "LocalDataset",
    "MDSWriter",
    "Stream",
    "StreamingDataLoader",
    "StreamingDataset",
    "TSVWriter",
    "XSVWriter",
    "merge_index",
]
