"""``python -m streaming.text.convert.enwiki_text --in_root RAW --out_root OUT``: English
Wikipedia as text lines (the MLCommons BERT layout the peer reads: ``part-NNNNN-of-00500`` for
train and ``eval.txt`` for val, one document per non-empty line) to the peer's MDS column
``text``."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

from streaming.datasets.convert.base import Converter, Part, RawDataError
from streaming.datasets.peer_convert import parser, run

_PART = re.compile(r"^part-(\d{5})-of-00500$")


class EnWikiTextConverter(Converter):
    """Lines of text files to MDS column ``text``: one part per file."""

    name = "enwiki_text"
    layout = "part-00000-of-00500 ... part-00499-of-00500 (train) and eval.txt (val)"
    default_compression = "zstd:7"
    default_size_limit = "32mb"

    @property
    def columns(self) -> dict[str, str]:
        return {"text": "str"}

    def plan(self, raw: str, splits: list[str] | None = None) -> list[Part]:
        names = sorted(n for n in os.listdir(raw) if _PART.match(n))
        found = {"train": names, "val": ["eval.txt"] if os.path.isfile(f"{raw}/eval.txt") else []}
        parts = []
        for split, files in found.items():
            if splits is not None and split not in splits:
                continue
            if not files:
                raise RawDataError(f"No EnWiki {split} text in {raw!r}; expected {self.layout}")
            parts += [Part(split, k, os.path.join(raw, n), os.path.join(raw, n))
                      for k, n in enumerate(files)]  # fmt: skip
        return parts

    def read_part(self, part: Part) -> Iterator[dict[str, Any]]:
        with open(part.payload, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    yield {"text": line}


def main(argv: list[str] | None = None) -> None:
    """Parse the peer's arguments and convert."""
    p = parser(__doc__ or "", size_limit=1 << 25, compression="zstd:7")
    run(EnWikiTextConverter(), p.parse_args(argv))


if __name__ == "__main__":
    main()
