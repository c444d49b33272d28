"""The on-disk formats: MDS and the JSON/CSV/TSV/XSV split formats, their writers and readers.

The public names are imported on first use, so that a module needing one small part (the
sample-count helpers of `streaming.format.sizes`, say) does not load every writer.
"""

from streaming._lazy import by_module, lazy_getattr

_LAZY = by_module(
    {
        "streaming.format.split": ("CSVWriter", "JSONWriter", "TSVWriter", "XSVWriter"),
        "streaming.format.mds.writer": ("MDSWriter",),
        "streaming.format.output": ("OutputInUseError",),
        "streaming.format.index": ("get_index_basename", "read_index"),
        "streaming.format.merge": ("merge_index",),
    }
)

__getattr__ = lazy_getattr(__name__, _LAZY, submodules=True)

__all__ = sorted(_LAZY)
