"""English Wikipedia from WikiExtractor's output files.

WikiExtractor writes ``AA/wiki_00``, ``AA/wiki_01`` .. ``AB/wiki_00`` .. (``.bz2`` with
``--compress``), each holding articles as::

    <doc id="12" url="https://en.wikipedia.org/wiki?curid=12" title="Anarchism">
    Anarchism

    Anarchism is a political philosophy ...
    </doc>

or, with ``--json``, one ``{"id", "url", "title", "text"}`` object per line. Each article is a
sample with columns ``id``, ``url``, ``title`` and ``text`` (the article without its title
line; mosaicml-streaming's text converter also names it ``text``). Articles with no text
(redirect stubs) are skipped. The dump has no splits: everything is ``train`` unless
``val_fraction`` sends a fixed pseudo-random share of articles (by id) to ``val``.
"""

from __future__ import annotations

import argparse
import html
import re
import zlib
from collections.abc import Iterator
from typing import Any

from streaming.datasets.convert.base import Converter, Part, RawDataError
from streaming.datasets.convert.sources import find, iter_lines, require

_ATTR = re.compile(r'(\w+)="([^"]*)"')


class EnWikiConverter(Converter):
    """WikiExtractor's text files to MDS columns ``id``, ``url``, ``title`` and ``text``.

    Args:
        val_fraction: the share of articles (chosen by a hash of their id) that go to ``val``.
    """

    name = "enwiki"
    summary = "English Wikipedia as extracted by WikiExtractor"
    layout = "WikiExtractor output: AA/wiki_00, AA/wiki_01, ... (<doc> blocks or JSON lines)"
    default_compression = "zstd:7"
    default_size_limit = "128mb"

    def __init__(self, val_fraction: float = 0.0, part_size: int = 10_000) -> None:
        super().__init__(part_size)
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        self.val_fraction = val_fraction

    @property
    def columns(self) -> dict[str, str]:
        return {"id": "str", "url": "str", "title": "str", "text": "str"}

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--val-fraction",
            type=float,
            default=0.0,
            help="share of articles (by a hash of their id) written to the val split",
        )

    @classmethod
    def options_from_args(cls, args: argparse.Namespace) -> dict[str, Any]:
        return {**super().options_from_args(args), "val_fraction": args.val_fraction}

    def plan(self, raw: str, splits: list[str] | None = None) -> list[Part]:
        files = [p for p in find(raw, "**/wiki_*") if re.search(r"wiki_\d+(\.bz2)?$", p)]
        if not files:
            raise RawDataError(f"No WikiExtractor files in {raw!r}; expected {self.layout}")
        names = ["train"] + (["val"] if self.val_fraction > 0 else [])
        parts = []
        for split in names:
            if splits is None or split in splits:
                parts += [Part(split, k, p, p) for k, p in enumerate(files)]
        if splits is not None and not parts:
            raise RawDataError(
                f"No split {splits} in enwiki: there is train, and val with --val-fraction"
            )
        return parts

    def read_part(self, part: Part) -> Iterator[dict[str, Any] | None]:
        for article in read_articles(part.payload):
            if _is_val(article["id"], self.val_fraction) != (part.split == "val"):
                continue
            yield article if article["text"] else None


def _is_val(doc_id: str, fraction: float) -> bool:
    return fraction > 0 and zlib.crc32(doc_id.encode("utf-8")) % 1_000_000 < fraction * 1_000_000


def read_articles(path: str) -> Iterator[dict[str, str]]:
    """The articles of one WikiExtractor file, either format."""
    lines = iter_lines(path)
    first = next(lines, None)
    if first is None:
        return
    if first[1].lstrip().startswith("{"):
        yield from _json_articles(path, first, lines)
    else:
        yield from _doc_articles(path, first, lines)


def _json_articles(path: str, first: tuple, lines: Iterator) -> Iterator[dict[str, str]]:
    import json

    for lineno, line in _chain(first, lines):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as err:
            raise RawDataError(f"{path!r}, line {lineno}: not valid JSON ({err})") from None
        where = f"{path!r}, line {lineno}"
        yield {
            "id": str(require(obj, "id", (str, int), where)),
            "url": require(obj, "url", str, where),
            "title": require(obj, "title", str, where),
            "text": _body(require(obj, "text", str, where), obj["title"]),
        }


def _doc_articles(path: str, first: tuple, lines: Iterator) -> Iterator[dict[str, str]]:
    attrs: dict[str, str] | None = None
    body: list[str] = []
    opened = 0
    for lineno, line in _chain(first, lines):
        if line.startswith("<doc "):
            if attrs is not None:
                raise RawDataError(
                    f"{path!r}, line {lineno}: <doc> inside the <doc> of line {opened}"
                )
            attrs = {k: html.unescape(v) for k, v in _ATTR.findall(line)}
            missing = {"id", "url", "title"} - set(attrs)
            if missing:
                raise RawDataError(f"{path!r}, line {lineno}: <doc> lacks {sorted(missing)}")
            body, opened = [], lineno
        elif line.strip() == "</doc>":
            if attrs is None:
                raise RawDataError(f"{path!r}, line {lineno}: </doc> without <doc>")
            title = attrs["title"]
            yield {
                "id": attrs["id"],
                "url": attrs["url"],
                "title": title,
                "text": _body("\n".join(body), title),
            }
            attrs = None
        elif attrs is not None:
            body.append(line)
        elif line.strip():
            raise RawDataError(f"{path!r}, line {lineno}: text outside a <doc> block")
    if attrs is not None:
        raise RawDataError(f"{path!r}: the <doc> of line {opened} is never closed (truncated?)")


def _chain(first: tuple, rest: Iterator) -> Iterator[tuple[int, str]]:
    yield first
    yield from rest


def _body(text: str, title: str) -> str:
    """The article's text without the title line WikiExtractor puts first."""
    text = text.strip("\n")
    head, _, rest = text.partition("\n")
    return (rest if head.strip() == title.strip() else text).strip()
