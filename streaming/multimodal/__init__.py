"""mosaicml-streaming's multimodal readers at its import path
(``from streaming.multimodal import StreamingInsideWebVid``), with its arguments and samples.

The typed readers with decoding (`streaming.datasets.StreamingWebVid`,
`streaming.datasets.StreamingLAION`) are in `streaming.datasets`. The readers are imported on
first use, so the convert scripts start without torch.
"""

from __future__ import annotations

from streaming._lazy import lazy_getattr

#: Reader class name -> its module.
READERS = {
    "StreamingInsideWebVid": "streaming.multimodal.webvid",
    "StreamingOutsideDTWebVid": "streaming.multimodal.webvid",
    "StreamingOutsideGIWebVid": "streaming.multimodal.webvid",
}


__getattr__ = lazy_getattr(__name__, READERS)


__all__ = ["StreamingInsideWebVid", "StreamingOutsideDTWebVid", "StreamingOutsideGIWebVid"]
