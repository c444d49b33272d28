"""WebVid readers at mosaicml-streaming's path: videos inside the shards, or beside them.

"Inside": the ``content`` column holds each video's bytes (``python -m
streaming.multimodal.convert.webvid``). "Outside": the shards hold ``content_path``, a path
relative to ``extra_remote``, and each video is fetched from there into ``extra_local`` on first
use (``python -m streaming.multimodal.convert.webvid.extract_webvid_videos`` moves the videos
out of an "inside" dataset). Samples are the stored columns, as the peer's.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from streaming.dataset import StreamingDataset
from streaming.datasets.peer import signature, split_dataset_args, takes
from streaming.storage.download import download

__all__ = ["StreamingInsideWebVid", "StreamingOutsideDTWebVid", "StreamingOutsideGIWebVid"]

OUTSIDE_SIGNATURE = signature(("extra_local", None), ("extra_remote", None))


class StreamingInsideWebVid(StreamingDataset):
    """WebVid with the videos inside the shards: each sample is its dict of columns
    (``videoid``, ``name``, ``page_idx``, ``page_dir``, ``duration``, ``contentUrl``, and
    ``content``, the video file's bytes).

    Takes `StreamingDataset`'s arguments and defaults, as the peer's does.
    """


class StreamingOutsideGIWebVid(StreamingDataset):
    """WebVid with the videos outside the shards, fetched when a sample is read ("GI":
    in ``get_item``): each sample is its dict of columns plus ``content``, the bytes of
    ``extra_remote/<content_path>``, cached at ``extra_local/<content_path>``. Without both
    ``extra_local`` and ``extra_remote`` the samples are the stored columns only.

    Args:
        extra_local: the local folder the videos are cached in.
        extra_remote: the folder or URL (``s3://...``, any supported store) holding them.
        The others: `StreamingDataset`'s, with mosaicml-streaming's defaults.
    """

    @takes(OUTSIDE_SIGNATURE)
    def __init__(self, **arguments: Any) -> None:
        base, own = split_dataset_args(arguments)
        super().__init__(**base)
        self.download_retry = base["download_retry"]
        self.download_timeout = base["download_timeout"]
        self.extra_local = own["extra_local"]
        self.extra_remote = own["extra_remote"]

    def get_item(self, idx: int) -> Any:
        """Sample `idx`: its columns, with the video's bytes under ``content``."""
        obj = super().get_item(idx)
        if self.extra_local and self.extra_remote:
            obj["content"] = self._fetch_video(obj["content_path"])
        return obj

    def _fetch_video(self, rel_path: str) -> bytes:
        local = os.path.join(self.extra_local, rel_path)
        if not os.path.exists(local):
            remote = os.path.join(self.extra_remote, rel_path)
            attempts = max(1, self.download_retry)
            download(remote, local, attempts=attempts, timeout=self.download_timeout)
        with open(local, "rb") as f:
            return f.read()


class StreamingOutsideDTWebVid(StreamingOutsideGIWebVid):
    """WebVid with the videos outside the shards (see `StreamingOutsideGIWebVid`), fetched
    ahead while iterating ("DT", as the peer's download thread): the videos of the next
    ``predownload`` samples (8 without it) are fetched by a few threads while the current one is
    used. Random access (``dataset[i]``) fetches the video then. Samples are the same as
    `StreamingOutsideGIWebVid`'s.
    """

    #: Threads fetching videos ahead.
    fetch_threads = 4

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if not (self.extra_local and self.extra_remote):
            yield from super().__iter__()
            return
        ahead = max(1, self.predownload or 8)
        pending: deque[tuple[dict[str, Any], Future]] = deque()
        self._local.pool = pool = ThreadPoolExecutor(self.fetch_threads)
        try:
            for obj in super().__iter__():
                pending.append((obj, obj.pop("content")))
                if len(pending) > ahead:
                    yield self._ready(*pending.popleft())
            while pending:
                yield self._ready(*pending.popleft())
        finally:
            self._local.pool = None
            pool.shutdown(wait=True, cancel_futures=True)

    def get_item(self, idx: int) -> Any:
        """Sample `idx`; while iterating, its video is a pending fetch resolved in order."""
        pool = getattr(self._local, "pool", None)
        if pool is None:
            return super().get_item(idx)
        obj = StreamingDataset.get_item(self, idx)
        obj["content"] = pool.submit(self._fetch_video, obj["content_path"])
        return obj

    @staticmethod
    def _ready(obj: dict[str, Any], content: Future) -> dict[str, Any]:
        obj["content"] = content.result()
        return obj

    @property
    def _local(self) -> threading.local:
        local = self.__dict__.get("_thread_local")
        if local is None:
            local = self.__dict__["_thread_local"] = threading.local()
        return local

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("_thread_local", None)  # not picklable; made again where needed
        return state
