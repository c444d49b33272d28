"""The contrastive models: image-text (CLIP-style, for LAION) and video-text (for WebVid)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from streaming.integrations.recipes.models import Task
from streaming.integrations.recipes.models.language import TextEncoder
from streaming.integrations.recipes.models.vision import ConvEncoder


def contrastive_loss(a: torch.Tensor, b: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    """CLIP's symmetric InfoNCE: the i-th `a` should match the i-th `b` among the batch."""
    a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
    logits = logit_scale.exp().clamp(max=100.0) * a @ b.T
    target = torch.arange(len(a), device=a.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


class _Contrastive(Task):
    """Two towers and a learned temperature; subclasses encode the visual side."""

    def __init__(
        self, vocab_size: int, max_text_len: int, embed_dim: int, width: int, depth: int,
        pad_id: int,
    ) -> None:  # fmt: skip
        super().__init__()
        self.visual = ConvEncoder(width, depth)
        self.visual_proj = nn.Linear(self.visual.out_channels, embed_dim)
        self.text = TextEncoder(vocab_size, max_text_len, embed_dim, pad_id=pad_id)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def loss(self, outputs: tuple[torch.Tensor, torch.Tensor], batch: dict[str, Any]) -> Any:
        return contrastive_loss(*outputs, self.logit_scale)


class CLIP(_Contrastive):
    """``tiny_clip``: a conv image encoder and a transformer text encoder trained with CLIP's
    contrastive loss. Reads ``image`` (B, 3, H, W) and ``caption`` token ids (B, T).

    Args:
        vocab_size: caption tokens (from the dataset's tokenizer unless set).
        max_text_len: caption length (the dataset's ``max_seq_len`` unless set).
        embed_dim: the shared embedding size.
        width: image encoder width.
        depth: image encoder depth.
        pad_id: the captions' padding token (from the dataset's tokenizer unless set).
    """

    inputs = ("image", "caption")

    def __init__(
        self, vocab_size: int, max_text_len: int, embed_dim: int = 64, width: int = 32,
        depth: int = 3, pad_id: int = 0,
    ) -> None:  # fmt: skip
        super().__init__(vocab_size, max_text_len, embed_dim, width, depth, pad_id)

    def forward(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        images = self.visual(batch["image"]).mean(dim=(2, 3))
        return self.visual_proj(images), self.text(batch["caption"])


class VideoCLIP(_Contrastive):
    """``tiny_video_clip``: each frame through a conv encoder, averaged over time, against a
    transformer text encoder, with CLIP's contrastive loss. Reads ``video`` (B, T, 3, H, W)
    and ``caption`` token ids (B, L).

    Args:
        vocab_size: caption tokens (from the dataset's tokenizer unless set).
        max_text_len: caption length (the dataset's ``max_seq_len`` unless set).
        embed_dim: the shared embedding size.
        width: frame encoder width.
        depth: frame encoder depth.
        pad_id: the captions' padding token (from the dataset's tokenizer unless set).
    """

    inputs = ("video", "caption")

    def __init__(
        self, vocab_size: int, max_text_len: int, embed_dim: int = 64, width: int = 16,
        depth: int = 3, pad_id: int = 0,
    ) -> None:  # fmt: skip
        super().__init__(vocab_size, max_text_len, embed_dim, width, depth, pad_id)

    def forward(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        video = batch["video"]
        frames = self.visual(video.flatten(0, 1)).mean(dim=(2, 3))
        clips = frames.unflatten(0, video.shape[:2]).mean(dim=1)
        return self.visual_proj(clips), self.text(batch["caption"])
