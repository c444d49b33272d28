"""`StreamingC4`: C4 as written by ``streaming convert c4`` (or the peer), tokenized."""

from __future__ import annotations

from streaming.datasets.text import StreamingTokenizedText


class StreamingC4(StreamingTokenizedText):
    """C4: each document's ``text`` as ``{"input_ids", "attention_mask"}`` of `max_seq_len`.

    Args:
        tokenizer_name: ``"bytes"`` (built in, no download), a Hugging Face tokenizer name
            (``"gpt2"``; needs transformers), or a tokenizer object.
        max_seq_len: tokens per sample (truncated or padded).
        group_method: ``"truncate"``.
        **kwargs: `StreamingDataset` arguments (``local``, ``remote``, ``split``...).
    """
