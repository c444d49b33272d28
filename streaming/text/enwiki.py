"""`StreamingEnWiki` at mosaicml-streaming's path: BERT pre-training samples.

This reads the peer's pre-tokenized English Wikipedia (written by its
``streaming/text/convert/enwiki/mds`` scripts): each column holds a little-endian int32 array
(``masked_lm_weights`` float32). It differs from `streaming.datasets.StreamingEnWiki`, which
tokenizes article text (``streaming convert enwiki``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from streaming.dataset import StreamingDataset
from streaming.datasets.peer import signature, takes

__all__ = ["StreamingEnWiki"]

#: The stored columns and the dtype of their arrays.
FIELD_DTYPES = {
    "input_ids": np.int32,
    "input_mask": np.int32,
    "attention_mask": np.int32,
    "segment_ids": np.int32,
    "token_type_ids": np.int32,
    "masked_lm_positions": np.int32,
    "masked_lm_ids": np.int32,
    "masked_lm_weights": np.float32,
    "next_sentence_labels": np.int32,
    "labels": np.int32,
}


class StreamingEnWiki(StreamingDataset):
    """English Wikipedia as BERT masked-language-modelling samples, as mosaicml-streaming's.

    Each sample is ``{"input_ids", "token_type_ids", "attention_mask", "labels"}``: int32
    arrays of the sequence length, and ``labels`` (int64) -100 except at the masked positions,
    which hold the masked tokens' ids.

    Takes mosaicml-streaming's arguments: the `StreamingDataset` ones, with its defaults.
    """

    field_dtypes = FIELD_DTYPES

    @takes(signature())
    def __init__(self, **arguments: Any) -> None:
        super().__init__(**arguments)

    def get_item(self, idx: int) -> dict[str, Any]:
        """Sample `idx` as BERT's model inputs and labels."""
        obj = super().get_item(idx)
        arrays = {}
        for key, value in obj.items():
            if key not in self.field_dtypes:
                raise KeyError(
                    f"Column {key!r} of sample {idx} is not a BERT pre-training field "
                    f"({', '.join(self.field_dtypes)}): this dataset was not written by the "
                    "enwiki/mds converter; read article text with "
                    "streaming.datasets.StreamingEnWiki"
                )
            arrays[key] = np.frombuffer(value, self.field_dtypes[key])
        labels = np.full((len(arrays["input_ids"]),), -100)
        labels[arrays["masked_lm_positions"]] = arrays["masked_lm_ids"]
        return {
            "input_ids": arrays["input_ids"].copy(),
            "token_type_ids": arrays["segment_ids"].copy(),
            "attention_mask": arrays["input_mask"].copy(),
            "labels": labels,
        }
