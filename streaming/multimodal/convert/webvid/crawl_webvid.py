"""``python -m streaming.multimodal.convert.webvid.crawl_webvid --in CSV --out_root DIR``: one
WebVid CSV (``videoid,contentUrl,duration,page_dir,name``, and ``page_idx`` where the CSV has
it) and its videos to one MDS dataset with the peer's columns ``videoid``, ``name``,
``page_idx``, ``page_dir``, ``duration`` (seconds), ``contentUrl`` and ``content`` (the video
file's bytes).

Each video is read from ``videos/<page_dir>/<videoid>.mp4`` (or ``videos/<videoid>.mp4``)
beside the CSV when it is there, and otherwise downloaded from its ``contentUrl`` (http, https,
or any store URL we read), as the peer does. A row whose video cannot be had is skipped and
counted in the summary, as the peer skips it. Rows keep the CSV's order (the peer writes them as
its downloads finish). ``page_idx`` is ``""`` for a CSV without that column.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from typing import Any

from streaming.datasets.convert import convert
from streaming.datasets.convert.base import Part, RawDataError
from streaming.datasets.convert.webvid import (
    WebVidConverter,
    _find_video,
    _header,
    _row_runs,
    parse_duration,
)
from streaming.storage.registry import is_remote_url

COLUMNS = {
    "videoid": "str",
    "name": "str",
    "page_idx": "str",
    "page_dir": "str",
    "duration": "int",
    "contentUrl": "str",
    "content": "bytes",
}


class WebVidCSV(WebVidConverter):
    """The rows of CSV file `csv_file` (the first `limit`, unless -1) as one split `split`."""

    def __init__(
        self, csv_file: str, split: str, limit: int = -1, timeout: float = 60, part_size: int = 1000
    ) -> None:
        super().__init__(part_size=part_size)
        self.csv_file, self.split, self.limit, self.timeout = csv_file, split, limit, timeout

    @property
    def columns(self) -> dict[str, str]:
        return COLUMNS

    def plan(self, raw: str, splits: list[str] | None = None) -> list[Part]:
        raw = self.csv_file  # `raw` is its folder
        videos = self.videos or os.path.join(os.path.dirname(raw), "videos")
        parts, left = [], self.limit if self.limit >= 0 else None
        for k, (start, first_row, count) in enumerate(_row_runs(raw, self.part_size)):
            if left is not None:
                count, left = min(count, left), left - min(count, left)
            if count:
                source = f"{raw} rows {first_row}-{first_row + count - 1}"
                parts.append(Part(self.split, k, source, (raw, start, first_row, count, videos)))
        if not parts:
            raise RawDataError(f"{raw!r} has no rows to convert")
        return parts

    def read_part(self, part: Part) -> Iterator[dict[str, Any] | None]:
        path, start, first_row, count, videos = part.payload
        with open(path, "rb") as raw_file:
            header = _header(path, raw_file)
            raw_file.seek(start)
            rows = csv.reader(io.TextIOWrapper(raw_file, encoding="utf-8", newline=""))
            n = 0
            while n < count:
                row = next(rows, None)
                if row == []:
                    continue
                where = f"{path!r}, row {first_row + n}"
                n += 1
                if row is None or len(row) != len(header):
                    raise RawDataError(f"{where}: expected {len(header)} fields")
                record = dict(zip(header, row, strict=True))
                content = self._video(videos, record)
                if content is None:
                    yield None
                    continue
                yield {
                    "videoid": record["videoid"],
                    "name": record["name"],
                    "page_idx": record.get("page_idx", ""),
                    "page_dir": record["page_dir"],
                    "duration": parse_duration(record["duration"], where),
                    "contentUrl": record["contentUrl"],
                    "content": content,
                }

    def _video(self, videos: str, record: dict[str, str]) -> bytes | None:
        local = _find_video(videos, record["page_dir"], record["videoid"])
        if local is not None:
            with open(local, "rb") as f:
                return f.read()
        return fetch(record["contentUrl"], self.timeout)


def fetch(url: str, timeout: float) -> bytes | None:
    """The bytes at `url` (http(s) or a store URL), or None if it cannot be fetched."""
    if url.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
                return response.read()
        except (OSError, ValueError):
            return None
    from streaming.storage.download import download

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "video")
        try:
            download(url, path, attempts=2, timeout=timeout)
        except (OSError, ValueError):
            return None
        with open(path, "rb") as f:
            return f.read()


def convert_csv(csv_file: str, out_root: str, workers: int, limit: int, progress: bool) -> None:
    """Write the CSV's videos to one MDS dataset at `out_root` (a directory or URL)."""
    if not os.path.isfile(csv_file):
        raise SystemExit(f"error: --in {csv_file!r} is not a file (expected a WebVid CSV)")
    if not is_remote_url(out_root):
        out_root = os.path.abspath(out_root)
    parent, _, name = out_root.rstrip("/").rpartition("/")
    if not name or not parent or parent.endswith(":/"):
        raise SystemExit(f"error: the output {out_root!r} must name a directory inside another")
    converter = WebVidCSV(os.path.abspath(csv_file), name, limit)
    folder = os.path.dirname(converter.csv_file)
    report = convert(converter, folder, parent, workers=workers, progress=progress)
    print(report.format(), file=sys.stderr)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The peer's arguments: ``--in``, ``--out_root``, ``--num_procs``, ``--limit``."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--in", type=str, required=True, help="Dataset CSV file")
    p.add_argument("--out_root", type=str, required=True, help="Output dataset directory or URL")
    p.add_argument("--num_procs", type=int, default=64,
                   help="Processes converting (and downloading) in parallel")  # fmt: skip
    p.add_argument("--limit", type=int, default=-1,
                   help='Only the first "limit" rows, or all of them if -1')  # fmt: skip
    return p.parse_args(argv)


def main(args: argparse.Namespace) -> None:
    """Convert as parsed."""
    workers = max(1, min(args.num_procs, os.cpu_count() or 1))
    convert_csv(getattr(args, "in"), args.out_root, workers, args.limit, progress=True)


if __name__ == "__main__":
    main(parse_args())
