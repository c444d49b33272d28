"""`StreamingPile`: the Pile as written by ``streaming convert pile`` (or the peer), tokenized."""

from __future__ import annotations

from streaming.datasets.text import StreamingTokenizedText


class StreamingPile(StreamingTokenizedText):
    """The Pile: each document's ``text`` as ``{"input_ids", "attention_mask"}``.

    The ``pile_set_name`` column (the document's source) stays in the dataset, for filtering
    or mixing; use ``StreamingDataset`` to read it.

    Args:
        tokenizer_name: ``"bytes"`` (built in), a Hugging Face tokenizer name, or an object.
        max_seq_len: tokens per sample (truncated or padded).
        group_method: ``"truncate"``.
        **kwargs: `StreamingDataset` arguments (``local``, ``remote``, ``split``...).
    """
