"""Converters from the raw layouts of the supported datasets to MDS.

Each dataset has a `Converter` subclass in its own module, found by name in `CONVERTERS`
(imported on first use). `convert` runs one: in parallel processes, resumable, with progress::

    from streaming.datasets.convert import convert, get_converter

    report = convert(get_converter("cifar10"), "raw/cifar10", "data/cifar10")
    print(report.format())

None of this imports torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from streaming.datasets.convert.base import (
    ConversionError,
    ConversionInterrupted,
    Converter,
    Part,
    RawDataError,
)
from streaming.datasets.convert.run import ConvertReport, SplitReport, convert

#: Dataset name -> (module, class) of its converter.
CONVERTERS: dict[str, tuple[str, str]] = {
    "cifar10": ("streaming.datasets.convert.cifar10", "CIFAR10Converter"),
    "imagenet": ("streaming.datasets.convert.imagenet", "ImageNetConverter"),
    "ade20k": ("streaming.datasets.convert.ade20k", "ADE20KConverter"),
    "coco": ("streaming.datasets.convert.coco", "COCOConverter"),
    "c4": ("streaming.datasets.convert.c4", "C4Converter"),
    "enwiki": ("streaming.datasets.convert.enwiki", "EnWikiConverter"),
    "pile": ("streaming.datasets.convert.pile", "PileConverter"),
    "laion": ("streaming.datasets.convert.laion", "LAIONConverter"),
    "webvid": ("streaming.datasets.convert.webvid", "WebVidConverter"),
}


def get_converter_class(name: str) -> type[Converter]:
    """The converter class of dataset `name` (``"cifar10"``...)."""
    if name not in CONVERTERS:
        raise ValueError(
            f"Unknown dataset {name!r}: expected one of {', '.join(sorted(CONVERTERS))}"
        )
    module, cls = CONVERTERS[name]
    return getattr(importlib.import_module(module), cls)


def get_converter(name: str, **options: Any) -> Converter:
    """A converter of dataset `name`, with its options (e.g. ``encoding="pil"``)."""
    return get_converter_class(name)(**options)


__all__ = [
    "CONVERTERS",
    "ConversionError",
    "ConversionInterrupted",
    "ConvertReport",
    "Converter",
    "Part",
    "RawDataError",
    "SplitReport",
    "convert",
    "get_converter",
    "get_converter_class",
]
