"""streaming: fast, deterministic, resumable training data from object storage.

Reads and writes mosaicml-streaming's MDS datasets byte for byte. Importing it is light: it
never imports torch, Lightning or Composer.
"""

from streaming._lazy import by_module, lazy_getattr

__version__ = "0.1.0"

#: The public names, each imported from its module on first use: ``import streaming`` loads
#: nothing else, so a process that needs only a part (a DataLoader worker reading the node's
#: epoch order, a convert script) pays only for that part.
_LAZY = by_module(
    {
        "streaming.format": (
            "CSVWriter",
            "JSONWriter",
            "MDSWriter",
            "TSVWriter",
            "XSVWriter",
            "merge_index",
        ),
        "streaming.local": ("LocalDataset",),
        "streaming.dataset": ("StreamingDataset",),
        "streaming.stream": ("Stream",),
        "streaming.loader": ("StreamingDataLoader",),
    }
)

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
