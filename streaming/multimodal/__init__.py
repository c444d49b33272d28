"""mosaicml-streaming's multimodal readers at its import path
(``from streaming.multimodal import StreamingInsideWebVid``), with its arguments and samples.

The typed readers with decoding (`streaming.datasets.StreamingWebVid`,
`streaming.datasets.StreamingLAION`) are in `streaming.datasets`. The readers are imported on
first use, so the convert scripts start without torch.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Reader class name -> its module.
READERS = {
    "StreamingInsideWebVid": "streaming.multimodal.webvid",
    "StreamingOutsideDTWebVid": "streaming.multimodal.webvid",
    "StreamingOutsideGIWebVid": "streaming.multimodal.webvid",
}


def __getattr__(name: str) -> Any:
    module = READERS.get(name)
    if module is None:
        raise AttributeError(f"module 'streaming.multimodal' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = ["StreamingInsideWebVid", "StreamingOutsideDTWebVid", "StreamingOutsideGIWebVid"]
