"""`StreamingPile` at mosaicml-streaming's path, with its arguments and samples."""

from __future__ import annotations

from streaming.text._tokenized import PeerTokenizedText

__all__ = ["StreamingPile"]


class StreamingPile(PeerTokenizedText):
    """The Pile: each sample is its ``text`` tokenized.

    Takes mosaicml-streaming's arguments (the `StreamingDataset` ones with its defaults, then
    ``tokenizer_name``, ``max_seq_len`` and ``group_method``, all three required) and returns
    what it returns: the tokenizer's ``input_ids``/``attention_mask`` lists of ``max_seq_len``.
    ``tokenizer_name`` may also be a local tokenizer directory, or ``"bytes"`` (built in).
    """

    def _check_group_method(self, group_method: str) -> None:
        if group_method not in ["truncate"]:
            raise ValueError(
                f'group_method={group_method!r}: only group_method="truncate" is supported.'
            )
