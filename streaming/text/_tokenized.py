"""What `StreamingC4` and `StreamingPile` share: a sample is its ``text`` tokenized as
mosaicml-streaming's readers tokenize it."""

from __future__ import annotations

from typing import Any

from streaming.datasets.peer import required, signature, split_dataset_args, takes
from streaming.datasets.text import StreamingTokenizedText

SIGNATURE = signature(required("tokenizer_name"), required("max_seq_len"), required("group_method"))


class PeerTokenizedText(StreamingTokenizedText):
    """A text reader with the peer's arguments; each sample is the tokenizer's output for the
    ``text`` column with ``truncation=True, padding="max_length", max_length=max_seq_len``
    (``input_ids``, ``attention_mask``... as lists of ints), the peer's ``group_method="truncate"``.

    ``tokenizer_name`` is a Hugging Face tokenizer name or a local tokenizer directory (loaded
    with ``transformers.AutoTokenizer``; a tokenizer without a pad token pads with its eos
    token, as the peer's), or ``"bytes"``, the built-in UTF-8 byte tokenizer, which needs neither
    transformers nor a download.
    """

    def _check_group_method(self, group_method: str) -> None:
        raise NotImplementedError

    @takes(SIGNATURE)
    def __init__(self, **arguments: Any) -> None:
        base, own = split_dataset_args(arguments)
        self._check_group_method(own["group_method"])
        super().__init__(**own, **base)
        self._fixed = self.tokenizer.fixed
        # As the peer's: `tokenizer` is the Hugging Face tokenizer itself (not our wrapper).
        self.tokenizer = getattr(self.tokenizer, "tokenizer", self.tokenizer)

    def get_item(self, idx: int) -> Any:
        """Sample `idx`: its text tokenized, truncated and padded to ``max_seq_len``."""
        text = super(StreamingTokenizedText, self).get_item(idx)[self.text_column]
        return self._fixed(text, self.max_seq_len)
