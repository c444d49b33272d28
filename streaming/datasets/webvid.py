"""`StreamingWebVid`: WebVid video-text pairs as written by ``streaming convert webvid``."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from streaming.datasets.images import StreamingImageDataset


def decode_frames(data: bytes, num_frames: int) -> Any:
    """`num_frames` frames spread evenly over a video: a uint8 tensor (T, 3, H, W), via PyAV."""
    import av
    import torch

    try:
        with av.open(io.BytesIO(data)) as container:
            stream = container.streams.video[0]
            frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    except (av.error.FFmpegError, IndexError) as err:
        raise ValueError(f"Cannot decode the video ({type(err).__name__}: {err})") from None
    if not frames:
        raise ValueError("The video has no frames")
    picks = np.linspace(0, len(frames) - 1, num_frames).round().astype(int)
    clip = np.stack([frames[i] for i in picks])
    return torch.from_numpy(clip).permute(0, 3, 1, 2).contiguous()


class StreamingWebVid(StreamingImageDataset):
    """WebVid: ``(video, caption)`` per sample, from columns ``content`` and ``name``.

    With ``decode="cpu"`` (default) the video becomes `num_frames` RGB frames spread evenly
    over the clip, a uint8 tensor (T, 3, H, W), decoded with PyAV (``pip install
    'openstreaming[video]'``) and then handed to `transform`. With ``decode="none"`` it is the
    video file's bytes. The caption is the ``name`` column, a str, through `target_transform`.

    Args:
        num_frames: frames per clip.
        decode: ``"cpu"`` or ``"none"``.
        transform: applied to the frames tensor (or the bytes with ``decode="none"``).
        target_transform: applied to the caption.
        with_sample_id: also return the sample id.
        **kwargs: `StreamingDataset` arguments (``local``, ``remote``, ``split``...).
    """

    image_columns = ("content",)

    def __init__(self, *, num_frames: int = 8, decode: str = "cpu", **kwargs: Any) -> None:
        if decode == "cpu":
            try:
                import av  # noqa: F401
            except ImportError:
                raise ImportError(
                    "StreamingWebVid(decode='cpu') decodes videos with PyAV: pip install "
                    "'openstreaming[video]', or pass decode='none' to get the video bytes"
                ) from None
        super().__init__(decode=decode, **kwargs)
        self.num_frames = num_frames

    def build(self, sample: dict[str, Any]) -> tuple:
        video = sample["content"]
        if self.decode == "cpu":
            video = decode_frames(video, self.num_frames)
        video = self.transform(video) if self.transform else video
        return video, self.target(sample["name"])
