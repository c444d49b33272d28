"""The on-disk formats: MDS and the JSON/CSV/TSV/XSV split formats, their writers and readers."""

from streaming.format.index import get_index_basename, read_index
from streaming.format.mds.writer import MDSWriter
from streaming.format.merge import merge_index
from streaming.format.output import OutputInUseError
from streaming.format.split import CSVWriter, JSONWriter, TSVWriter, XSVWriter

__all__ = [
    "CSVWriter",
    "JSONWriter",
    "MDSWriter",
    "OutputInUseError",
    "TSVWriter",
    "XSVWriter",
    "get_index_basename",
    "merge_index",
    "read_index",
]
