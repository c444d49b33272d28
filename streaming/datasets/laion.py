"""`StreamingLAION`: LAION image-text pairs as written by ``streaming convert laion``."""

from __future__ import annotations

from typing import Any

from streaming.datasets.images import StreamingImageDataset
from streaming.datasets.text import fixed_length, get_tokenizer


class StreamingLAION(StreamingImageDataset):
    """LAION: ``(image, caption)`` per sample, from columns ``jpg`` and ``caption``.

    The image is decoded to RGB and handed to `transform`, or becomes a float CHW tensor in
    [0, 1]; with ``decode="none"`` it is the JPEG's bytes. The caption is a str, or with
    `tokenizer_name` an int64 tensor of `max_caption_len` token ids (padded with the pad id).

    Args:
        tokenizer_name: None (captions as str), ``"bytes"``, a Hugging Face tokenizer name, or
            a tokenizer object.
        max_caption_len: tokens per caption when tokenizing (77, as CLIP's).
        decode: ``"cpu"`` or ``"none"``.
        transform: applied to the image.
        target_transform: applied to the caption (the str, before any tokenizing).
        with_sample_id: also return the sample id.
        **kwargs: `StreamingDataset` arguments (``local``, ``remote``, ``split``...).
    """

    image_columns = ("jpg",)

    def __init__(
        self, *, tokenizer_name: Any = None, max_caption_len: int = 77, **kwargs: Any
    ) -> None:
        self.tokenizer = None if tokenizer_name is None else get_tokenizer(tokenizer_name)
        super().__init__(**kwargs)
        self.max_caption_len = max_caption_len

    def build(self, sample: dict[str, Any]) -> tuple:
        caption = self.target(sample["caption"])
        if self.tokenizer is not None:
            ids = self.tokenizer.encode(caption)
            caption, _ = fixed_length(ids, self.max_caption_len, self.tokenizer.pad_token_id)
        return self.image(sample["jpg"]), caption
