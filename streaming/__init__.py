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

__all__ = [
    "CSVWriter",
    "JSONWriter",
    "LocalDataset",
    "MDSWriter",
    "TSVWriter",
    "XSVWriter",
    "merge_index",
]
