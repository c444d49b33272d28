"""streaming: fast, deterministic, resumable training data from object storage.

Reads and writes mosaicml-streaming's MDS datasets byte for byte. Importing it is light: it
never imports torch, Lightning or Composer.
"""

from streaming._lazy import lazy_getattr

__version__ = "0.1.0"

#: Public name -> its module, imported on first use: ``import streaming`` loads nothing else,
#: so a process that needs only a part (a DataLoader worker reading the node's epoch order, a
#: convert script) pays only for that part.
_LAZY = {
    "CSVWriter": "streaming.format",
    "JSONWriter": "streaming.format",
    "MDSWriter": "streaming.format",
    "TSVWriter": "streaming.format",
    "XSVWriter": "streaming.format",
    "merge_index": "streaming.format",
    "LocalDataset": "streaming.local",
    "StreamingDataset": "streaming.dataset",
    "Stream": "streaming.stream",
    "StreamingDataLoader": "streaming.loader",
}

__getattr__ = lazy_getattr(__name__, _LAZY, submodules=True)


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


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
