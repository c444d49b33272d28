"""The image models: a classifier, a segmenter and a detector over one small conv encoder."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from streaming.integrations.recipes.models import Task


def conv_block(cin: int, cout: int, stride: int) -> nn.Sequential:
    """3x3 conv, group norm, ReLU (group norm: well-behaved at any batch size)."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
        nn.GroupNorm(min(8, cout), cout),
        nn.ReLU(inplace=True),
    )


class ConvEncoder(nn.Module):
    """A stem and `depth` stride-2 blocks doubling the width: (B, 3, H, W) -> (B, C, H/2^d, W/2^d).

    Args:
        width: channels after the stem.
        depth: downsampling blocks after the stem.
    """

    def __init__(self, width: int = 32, depth: int = 3) -> None:
        super().__init__()
        layers = [conv_block(3, width, 1)]
        for i in range(depth):
            layers.append(conv_block(width * 2**i, width * 2 ** (i + 1), 2))
        self.layers = nn.Sequential(*layers)
        self.out_channels = width * 2**depth

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.layers(images)


class ImageClassifier(Task):
    """``tiny_cnn``: `ConvEncoder`, global average pooling, a linear layer; cross-entropy.

    Reads ``image`` (B, 3, H, W) and ``label`` (B,).

    Args:
        num_classes: classes (10 for CIFAR10, 1000 for ImageNet).
        width: encoder width.
        depth: encoder depth.
    """

    inputs = ("image",)

    def __init__(self, num_classes: int = 1000, width: int = 32, depth: int = 3) -> None:
        super().__init__()
        self.encoder = ConvEncoder(width, depth)
        self.head = nn.Linear(self.encoder.out_channels, num_classes)

    def forward(self, batch: dict[str, Any]) -> torch.Tensor:
        features = self.encoder(batch["image"]).mean(dim=(2, 3))
        return self.head(features)

    def loss(self, outputs: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
        return F.cross_entropy(outputs, batch["label"])


class Segmenter(Task):
    """``tiny_segnet``: `ConvEncoder`, a 1x1 conv to class scores, bilinear upsampling to the
    input's size; per-pixel cross-entropy.

    Reads ``image`` (B, 3, H, W) and ``mask`` (B, H, W) of ADE20K class ids: 0 ("other") is
    ignored, 1..150 are the classes.

    Args:
        num_classes: classes, not counting "other".
        width: encoder width.
        depth: encoder depth.
    """

    inputs = ("image",)

    def __init__(self, num_classes: int = 150, width: int = 32, depth: int = 3) -> None:
        super().__init__()
        self.encoder = ConvEncoder(width, depth)
        self.head = nn.Conv2d(self.encoder.out_channels, num_classes, 1)

    def forward(self, batch: dict[str, Any]) -> torch.Tensor:
        images = batch["image"]
        scores = self.head(self.encoder(images))
        return F.interpolate(scores, size=images.shape[-2:], mode="bilinear", align_corners=False)

    def loss(self, outputs: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
        target = batch["mask"].long() - 1  # "other" (0) becomes -1: ignored
        if not (target >= 0).any():  # nothing labelled: a zero that keeps the graph
            return outputs.sum() * 0.0
        return F.cross_entropy(outputs, target, ignore_index=-1)


class Detector(Task):
    """``tiny_detector``: a small detection-style model for COCO.

    A `ConvEncoder` with two heads on its pooled features:

    * presence: which of the `num_classes` categories appear in the image (multi-label,
      binary cross-entropy against the categories of its boxes);
    * box: the box of the image's largest object, as ``(left, top, right, bottom)`` fractions
      of the image (L1; images without objects do not count).

    The loss is their sum. It reads ``image`` (B, 3, H, W), ``boxes`` (a list of (N, 4) box
    fractions per image) and ``labels`` (a list of N category ids in 1..`num_classes`).

    Args:
        num_classes: categories (80 in COCO).
        width: encoder width.
        depth: encoder depth.
    """

    inputs = ("image",)

    def __init__(self, num_classes: int = 80, width: int = 32, depth: int = 3) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.encoder = ConvEncoder(width, depth)
        self.presence = nn.Linear(self.encoder.out_channels, num_classes)
        self.box = nn.Linear(self.encoder.out_channels, 4)

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        features = self.encoder(batch["image"]).mean(dim=(2, 3))
        return {"presence": self.presence(features), "box": torch.sigmoid(self.box(features))}

    def targets(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(presence (B, C) in {0, 1}, largest box (B, 4), has-a-box mask (B,))."""
        device = batch["image"].device
        count = len(batch["boxes"])
        presence = torch.zeros(count, self.num_classes, device=device)
        largest = torch.zeros(count, 4, device=device)
        has_box = torch.zeros(count, dtype=torch.bool, device=device)
        for i, (boxes, labels) in enumerate(zip(batch["boxes"], batch["labels"], strict=True)):
            if len(labels):
                presence[i, labels.long().to(device) - 1] = 1.0
                area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
                largest[i] = boxes[int(area.argmax())].to(device)
                has_box[i] = True
        return presence, largest, has_box

    def loss(self, outputs: dict[str, torch.Tensor], batch: dict[str, Any]) -> torch.Tensor:
        presence, largest, has_box = self.targets(batch)
        loss = F.binary_cross_entropy_with_logits(outputs["presence"], presence)
        if has_box.any():
            loss = loss + F.l1_loss(outputs["box"][has_box], largest[has_box])
        return loss
