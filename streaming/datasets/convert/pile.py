"""The Pile from its ``jsonl.zst`` files.

The raw layout is ``train/00.jsonl.zst`` .. ``train/29.jsonl.zst``, ``val.jsonl.zst`` and
``test.jsonl.zst`` (uncompressed ``.jsonl`` is read too). Each line is
``{"text": ..., "meta": {"pile_set_name": ...}}``; the columns are mosaicml-streaming's:
``text`` and ``pile_set_name``. One part per file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from streaming.datasets.convert.base import Converter, Part, RawDataError, want
from streaming.datasets.convert.sources import find, iter_json_lines, require


class PileConverter(Converter):
    """The Pile's jsonl.zst files to MDS columns ``text`` and ``pile_set_name``."""

    name = "pile"
    summary = "the Pile jsonl.zst files"
    layout = "train/NN.jsonl.zst, val.jsonl.zst and test.jsonl.zst"
    default_compression = "zstd:7"
    default_size_limit = "128mb"

    @property
    def columns(self) -> dict[str, str]:
        return {"text": "str", "pile_set_name": "str"}

    def plan(self, raw: str, splits: list[str] | None = None) -> list[Part]:
        found = {
            "train": find(raw, "train/*.jsonl.zst") or find(raw, "train/*.jsonl"),
            "val": _one(raw, "val"),
            "test": _one(raw, "test"),
        }
        parts = []
        for split, files in found.items():
            if splits is not None and split in splits and not files:
                raise RawDataError(f"No Pile {split} files in {raw!r}; expected {self.layout}")
            if want(split, splits):
                parts += [Part(split, k, p, p) for k, p in enumerate(files)]
        return parts

    def read_part(self, part: Part) -> Iterator[dict[str, Any]]:
        for lineno, obj in iter_json_lines(part.payload):
            where = f"{part.payload!r}, line {lineno}"
            meta = require(obj, "meta", dict, where)
            yield {
                "text": require(obj, "text", str, where),
                "pile_set_name": require(meta, "pile_set_name", str, where + ", meta"),
            }


def _one(raw: str, name: str) -> list[str]:
    for ext in (".jsonl.zst", ".jsonl"):
        path = os.path.join(raw, name + ext)
        if os.path.isfile(path):
            return [path]
    return []
