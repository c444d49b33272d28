"""The reference models of the recipes: one small model per task, in plain PyTorch.

Each is a `Task`: an ``nn.Module`` whose ``forward`` takes the recipe's batch (a dict) and whose
``loss(outputs, batch)`` is the training objective, so one definition serves both trainers
(`streaming.integrations.recipes.lightning_run` and
`streaming.integrations.recipes.composer_run` wrap it).
They are deliberately small: they exist to run every recipe end to end, not to win benchmarks.

=================  ========================================================  ===============
name               what it does                                              datasets
=================  ========================================================  ===============
``tiny_cnn``       conv net + linear head, cross-entropy over classes        cifar10, imagenet
``tiny_segnet``    conv encoder-decoder, per-pixel cross-entropy             ade20k
``tiny_detector``  conv net with two heads: which of the 80 categories are   coco
                   in the image (multi-label BCE) and where the largest
                   object is (its box, L1 on box fractions)
``tiny_gpt``       decoder-only transformer, next-token cross-entropy        c4, enwiki, pile
``tiny_clip``      image and text encoders, CLIP's symmetric contrastive     laion
                   loss
``tiny_video_clip``  frame encoder averaged over time and a text encoder,     webvid
                   the same contrastive loss
=================  ========================================================  ===============
"""

from __future__ import annotations

import importlib
from typing import Any

from torch import nn

__all__ = ["MODELS", "Task", "build_model"]

#: Model name -> (module, class).
MODELS: dict[str, tuple[str, str]] = {
    "tiny_cnn": ("streaming.integrations.recipes.models.vision", "ImageClassifier"),
    "tiny_segnet": ("streaming.integrations.recipes.models.vision", "Segmenter"),
    "tiny_detector": ("streaming.integrations.recipes.models.vision", "Detector"),
    "tiny_gpt": ("streaming.integrations.recipes.models.language", "CausalLM"),
    "tiny_clip": ("streaming.integrations.recipes.models.contrastive", "CLIP"),
    "tiny_video_clip": ("streaming.integrations.recipes.models.contrastive", "VideoCLIP"),
}


class Task(nn.Module):
    """A model with its objective: ``loss(forward(batch), batch)`` is what training minimises.

    Subclasses set `inputs`: the batch keys the model reads (the others are targets).
    """

    inputs: tuple[str, ...] = ()

    def loss(self, outputs: Any, batch: dict[str, Any]) -> Any:
        """The training loss of `outputs` on `batch` (a scalar tensor)."""
        raise NotImplementedError


def build_model(name: str, **kwargs: Any) -> Task:
    """Model `name` (a key of `MODELS`) with its arguments."""
    from streaming.config import RecipeError

    if name not in MODELS:
        raise RecipeError(f"model.name: unknown model {name!r}; one of {', '.join(MODELS)}")
    module, cls = MODELS[name]
    try:
        return getattr(importlib.import_module(module), cls)(**kwargs)
    except TypeError as e:
        raise RecipeError(f"model.kwargs: {name}: {e}") from e
