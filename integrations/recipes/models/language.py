"""The text models: a small decoder-only language model, and a text encoder for the
contrastive models."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from streaming.integrations.recipes.models import Task


def transformer(dim: int, layers: int, heads: int) -> nn.TransformerEncoder:
    """`layers` pre-norm transformer blocks of width `dim`."""
    block = nn.TransformerEncoderLayer(
        dim, heads, 4 * dim, dropout=0.0, batch_first=True, norm_first=True
    )
    return nn.TransformerEncoder(block, layers, enable_nested_tensor=False)


class CausalLM(Task):
    """``tiny_gpt``: token and position embeddings, causal transformer blocks, a head tied to
    the token embedding; next-token cross-entropy, not counting padding.

    Reads ``input_ids`` and ``attention_mask`` (B, T). The recipe passes `vocab_size` (from the
    dataset's tokenizer) and `max_seq_len` (the dataset's) unless the recipe sets them.

    Args:
        vocab_size: tokens in the vocabulary.
        max_seq_len: longest sequence (positions).
        dim: model width.
        layers: transformer blocks.
        heads: attention heads.
    """

    inputs = ("input_ids", "attention_mask")

    def __init__(
        self, vocab_size: int, max_seq_len: int, dim: int = 128, layers: int = 2, heads: int = 4
    ) -> None:
        super().__init__()
        self.tokens = nn.Embedding(vocab_size, dim)
        self.positions = nn.Embedding(max_seq_len, dim)
        self.blocks = transformer(dim, layers, heads)
        self.norm = nn.LayerNorm(dim)
        for embedding in (self.tokens, self.positions):  # GPT-2's scale: logits start small
            nn.init.normal_(embedding.weight, std=0.02)

    def forward(self, batch: dict[str, Any]) -> torch.Tensor:
        ids = batch["input_ids"]
        length = ids.shape[1]
        x = self.tokens(ids) + self.positions(torch.arange(length, device=ids.device))
        causal = nn.Transformer.generate_square_subsequent_mask(length, device=ids.device)
        x = self.blocks(x, mask=causal, is_causal=True)
        return self.norm(x) @ self.tokens.weight.T

    def loss(self, outputs: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
        labels = batch["input_ids"][:, 1:].masked_fill(batch["attention_mask"][:, 1:] == 0, -100)
        logits = outputs[:, :-1]
        if not (labels != -100).any():
            return logits.sum() * 0.0
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))


class TextEncoder(nn.Module):
    """Token ids (B, T), padded with `pad_id`, to one embedding per text (B, `out_dim`):
    a bidirectional transformer, mean-pooled over the real tokens.

    Args:
        vocab_size: tokens in the vocabulary.
        max_len: longest text (positions).
        out_dim: embedding size.
        dim: width.
        layers: transformer blocks.
        heads: attention heads.
        pad_id: the padding token.
    """

    def __init__(
        self,
        vocab_size: int,
        max_len: int,
        out_dim: int,
        dim: int = 64,
        layers: int = 1,
        heads: int = 4,
        pad_id: int = 0,
    ) -> None:
        super().__init__()
        self.pad_id = pad_id
        self.tokens = nn.Embedding(vocab_size, dim)
        self.positions = nn.Embedding(max_len, dim)
        self.blocks = transformer(dim, layers, heads)
        self.proj = nn.Linear(dim, out_dim)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        real = ids != self.pad_id
        x = self.tokens(ids) + self.positions(torch.arange(ids.shape[1], device=ids.device))
        # An empty text would attend to nothing (NaN): let it attend to its padding.
        padding = ~real & real.any(dim=1, keepdim=True)
        x = self.blocks(x, src_key_padding_mask=padding)
        weights = real.float().unsqueeze(-1)
        pooled = (x * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return self.proj(pooled)
