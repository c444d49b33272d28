"""``streaming.base.stream``: `Stream` and the streams registry (``stream_name=`` of
`StreamingDataset` picks a class registered there)."""

from streaming.registry import streams_registry
from streaming.stream import Stream

__all__ = ["Stream", "streams_registry"]
