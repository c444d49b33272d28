"""C4 (the Colossal Clean Crawled Corpus, English) from its ``json.gz`` shards.

The raw files are ``c4-train.NNNNN-of-01024.json.gz`` and ``c4-validation.NNNNN-of-00008.json.gz``
(as in allenai/c4's ``en/`` folder; found anywhere under the raw directory). Each line is a
JSON object with ``text``, ``timestamp`` and ``url``, which become the columns, as in
mosaicml-streaming's converter. ``validation`` becomes the ``val`` split. One part per file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from streaming.datasets.convert.base import Converter, Part, RawDataError, want
from streaming.datasets.convert.sources import find, iter_json_lines, require

SPLITS = {"train": "train", "validation": "val"}
_NAME = re.compile(r"c4-(train|validation)\.(\d+)-of-(\d+)\.json(\.gz)?$")


class C4Converter(Converter):
    """C4's json.gz shards to MDS columns ``text``, ``timestamp`` and ``url``."""

    name = "c4"
    summary = "C4 (en) json.gz shards"
    layout = "c4-train.NNNNN-of-01024.json.gz and c4-validation.NNNNN-of-00008.json.gz files"
    default_compression = "zstd:7"
    default_size_limit = "128mb"

    @property
    def columns(self) -> dict[str, str]:
        return {"text": "str", "timestamp": "str", "url": "str"}

    def plan(self, raw: str, splits: list[str] | None = None) -> list[Part]:
        files: dict[str, list[str]] = {}
        for path in find(raw, "**/c4-*.json*"):
            m = _NAME.search(path)
            if m:
                files.setdefault(SPLITS[m.group(1)], []).append(path)
        parts = []
        for split in ("train", "val"):
            if splits is not None and split in splits and not files.get(split):
                raise RawDataError(f"No C4 {split} files in {raw!r}; expected {self.layout}")
            if want(split, splits):
                parts += [Part(split, k, p, p) for k, p in enumerate(files.get(split, []))]
        return parts

    def read_part(self, part: Part) -> Iterator[dict[str, Any]]:
        for lineno, obj in iter_json_lines(part.payload):
            where = f"{part.payload!r}, line {lineno}"
            yield {key: require(obj, key, str, where) for key in ("text", "timestamp", "url")}
