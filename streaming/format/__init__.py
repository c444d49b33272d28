"""The on-disk formats: MDS and the JSON/CSV/TSV/XSV split formats, their writers and readers.

The public names are imported on first use, so that a module needing one small part (the
sample-count helpers of `streaming.format.sizes`, say) does not load every writer.
"""

from streaming._lazy import lazy_getattr

_LAZY = {
    "CSVWriter": "streaming.format.split",
    "JSONWriter": "streaming.format.split",
    "TSVWriter": "streaming.format.split",
    "XSVWriter": "streaming.format.split",
    "MDSWriter": "streaming.format.mds.writer",
    "OutputInUseError": "streaming.format.output",
    "get_index_basename": "streaming.format.index",
    "read_index": "streaming.format.index",
    "merge_index": "streaming.format.merge",
}

__getattr__ = lazy_getattr(__name__, _LAZY, submodules=True)

__all__ = sorted(_LAZY)
