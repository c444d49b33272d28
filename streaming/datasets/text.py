"""Text readers' shared part: tokenization to fixed-length token ids.

The default tokenizer, ``"bytes"``, needs nothing installed and no download: each UTF-8 byte
is a token (ids 3..258), after the special ids pad 0, bos 1 and eos 2, and every text ends with
eos. Any other name loads a Hugging Face tokenizer (``transformers`` must be installed, and the
tokenizer must be cached or downloadable), as mosaicml-streaming's text readers do. An object
with ``encode(text) -> list[int]`` and a ``pad_token_id`` works too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from streaming.dataset import StreamingDataset

GROUP_METHODS = ("truncate",)


class ByteTokenizer:
    """UTF-8 bytes as tokens: pad 0, bos 1, eos 2, byte ``b`` is ``b + 3``; vocabulary 259."""

    pad_token_id = 0
    bos_token_id = 1
    eos_token_id = 2
    offset = 3
    vocab_size = 259

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`, ending with eos."""
        data = np.frombuffer(text.encode("utf-8"), np.uint8).astype(np.int64) + self.offset
        return [*data.tolist(), self.eos_token_id]

    def decode(self, ids: Any) -> str:
        """The text of token ids (special ids are dropped)."""
        data = bytes(int(i) - self.offset for i in ids if int(i) >= self.offset)
        return data.decode("utf-8", errors="replace")

    def fixed(self, text: str, max_length: int) -> dict[str, list[int]]:
        """`text` as a Hugging Face tokenizer returns it with ``truncation=True,
        padding="max_length"``: ``{"input_ids", "attention_mask"}`` lists of `max_length`."""
        ids = self.encode(text)[:max_length]
        pad = max_length - len(ids)
        mask = [1] * len(ids) + [0] * pad
        return {"input_ids": ids + [self.pad_token_id] * pad, "attention_mask": mask}


class _HFTokenizer:
    """A Hugging Face tokenizer behind the same two members as `ByteTokenizer`."""

    def __init__(self, name: str) -> None:
        try:
            from transformers import AutoTokenizer
        except ImportError:
            raise ImportError(
                f"Tokenizer {name!r} is a Hugging Face tokenizer, which needs transformers: "
                "pip install transformers (or use tokenizer_name='bytes', which needs nothing)"
            ) from None
        self.name = name
        self.tokenizer = AutoTokenizer.from_pretrained(name)
        if self.tokenizer.pad_token is None:  # as mosaicml-streaming's text readers do
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.pad_token_id = self.tokenizer.pad_token_id

    def encode(self, text: str) -> list[int]:
        return self.tokenizer(text)["input_ids"]

    def fixed(self, text: str, max_length: int) -> Any:
        """The tokenizer's own output for `text`, truncated and padded to `max_length` (its
        ``input_ids``, ``attention_mask`` and any other field it returns)."""
        return self.tokenizer(text, truncation=True, padding="max_length", max_length=max_length)

    def __reduce__(self) -> tuple:  # DataLoader workers reload it by name
        return (_HFTokenizer, (self.name,))


def get_tokenizer(tokenizer: Any) -> Any:
    """``"bytes"`` -> `ByteTokenizer`; another name -> a Hugging Face tokenizer; an object with
    ``encode`` and ``pad_token_id`` -> itself."""
    if tokenizer == "bytes":
        return ByteTokenizer()
    if isinstance(tokenizer, str):
        return _HFTokenizer(tokenizer)
    if not hasattr(tokenizer, "encode") or not hasattr(tokenizer, "pad_token_id"):
        raise TypeError(
            "tokenizer must be 'bytes', a Hugging Face tokenizer name, or an object with "
            f"encode() and pad_token_id; got {type(tokenizer).__name__}"
        )
    return tokenizer


def fixed_length(ids: list[int], length: int, pad: int) -> tuple[Any, Any]:
    """`ids` truncated or padded to `length`: ``(input_ids, attention_mask)`` int64 tensors."""
    import torch

    out = torch.full((length,), pad, dtype=torch.int64)
    mask = torch.zeros(length, dtype=torch.int64)
    n = min(len(ids), length)
    out[:n] = torch.as_tensor(ids[:n], dtype=torch.int64)
    mask[:n] = 1
    return out, mask


class StreamingTokenizedText(StreamingDataset):
    """Base of the text readers: each sample's ``text`` column as fixed-length token ids.

    Returns ``{"input_ids": LongTensor[max_seq_len], "attention_mask": LongTensor[max_seq_len]}``
    per sample: the text's tokens, truncated or padded with the pad id (mask 0 on padding).

    Args:
        tokenizer_name: ``"bytes"`` (default, built in), a Hugging Face tokenizer name, or a
            tokenizer object (``encode`` and ``pad_token_id``).
        max_seq_len: tokens per sample.
        group_method: ``"truncate"`` (one text per sample), as the peer's.
        **kwargs: `StreamingDataset` arguments (``local``, ``remote``, ``split``, ``shuffle``...).
    """

    text_column = "text"

    def __init__(
        self,
        *,
        tokenizer_name: Any = "bytes",
        max_seq_len: int = 2048,
        group_method: str = "truncate",
        **kwargs: Any,
    ) -> None:
        if group_method not in GROUP_METHODS:
            raise ValueError(f"group_method={group_method!r} must be one of {GROUP_METHODS}")
        if isinstance(max_seq_len, bool) or not isinstance(max_seq_len, int) or max_seq_len < 1:
            raise ValueError(f"max_seq_len must be a positive int, got {max_seq_len!r}")
        self.tokenizer = get_tokenizer(tokenizer_name)
        super().__init__(**kwargs)
        self.tokenizer_name = tokenizer_name
        self.max_seq_len = max_seq_len
        self.group_method = group_method

    def get_item(self, sample_id: int) -> dict[str, Any]:
        """Sample `sample_id` as ``{"input_ids", "attention_mask"}``."""
        text = super().get_item(sample_id)[self.text_column]
        ids, mask = fixed_length(
            self.tokenizer.encode(text), self.max_seq_len, self.tokenizer.pad_token_id
        )
        return {"input_ids": ids, "attention_mask": mask}
