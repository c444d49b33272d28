"""`StreamingEnWiki`: English Wikipedia as written by ``streaming convert enwiki``, tokenized."""

from __future__ import annotations

from streaming.datasets.text import StreamingTokenizedText


class StreamingEnWiki(StreamingTokenizedText):
    """English Wikipedia: each article's ``text`` as ``{"input_ids", "attention_mask"}``.

    Unlike mosaicml-streaming's ``StreamingEnWiki``, which reads a pre-tokenized BERT
    masked-language-modelling dataset, this reads articles as text and tokenizes them.

    Args:
        tokenizer_name: ``"bytes"`` (built in), a Hugging Face tokenizer name, or an object.
        max_seq_len: tokens per sample (truncated or padded).
        group_method: ``"truncate"``.
        **kwargs: `StreamingDataset` arguments (``local``, ``remote``, ``split``...).
    """
