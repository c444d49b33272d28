"""mosaicml-streaming's multimodal readers at its import path
(``from streaming.multimodal import StreamingInsideWebVid``), with its arguments and samples.

The typed readers with decoding (`streaming.datasets.StreamingWebVid`,
`streaming.datasets.StreamingLAION`) are in `streaming.datasets`.
"""

from streaming.multimodal.webvid import StreamingInsideWebVid as StreamingInsideWebVid
from streaming.multimodal.webvid import StreamingOutsideDTWebVid as StreamingOutsideDTWebVid
from streaming.multimodal.webvid import StreamingOutsideGIWebVid as StreamingOutsideGIWebVid

__all__ = ["StreamingInsideWebVid", "StreamingOutsideDTWebVid", "StreamingOutsideGIWebVid"]
