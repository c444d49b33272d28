"""WebVid (2M or 10M) from its CSV files and the videos downloaded from them.

The CSVs are ``results_2M_train.csv`` / ``results_2M_val.csv`` (or ``results_10M_*``), with
the columns ``videoid,contentUrl,duration,page_dir,name`` (``duration`` as ``PT00H00M12S``).
The videos are local files ``<videos>/<page_dir>/<videoid>.mp4`` or ``<videos>/<videoid>.mp4``;
``videos`` defaults to the ``videos/`` folder beside the CSVs. Columns are mosaicml-streaming's
(``videoid``, ``name``, ``page_dir``, ``duration`` in seconds, ``contentUrl``, and ``content``,
the video file's bytes). Rows whose video was never downloaded are skipped and counted, unless
``strict``. Parts are runs of CSV rows.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
from collections.abc import Iterator
from typing import Any

from streaming.datasets.convert.base import Converter, Part, RawDataError, want
from streaming.datasets.convert.sources import find, read_bytes

HEADER = ("videoid", "contentUrl", "duration", "page_dir", "name")
_DURATION = re.compile(r"^PT(\d+)H(\d+)M(\d+)S$")
_VIDEO_EXT = (".mp4", ".webm", ".mkv", ".avi", ".mov")


class WebVidConverter(Converter):
    """WebVid's CSVs and local videos to MDS, one sample per downloaded video.

    Args:
        videos: the folder of downloaded videos (None: ``videos/`` beside the CSVs, or the
            CSVs' folder itself).
        strict: raise on a row whose video is missing instead of skipping it.
    """

    name = "webvid"
    summary = "WebVid CSVs plus locally downloaded videos"
    layout = "results_*_train.csv / results_*_val.csv and videos/<page_dir>/<videoid>.mp4"

    def __init__(
        self, videos: str | None = None, strict: bool = False, part_size: int = 10_000
    ) -> None:
        super().__init__(part_size)
        self.videos = videos
        self.strict = strict

    @property
    def columns(self) -> dict[str, str]:
        return {
            "videoid": "str",
            "name": "str",
            "page_dir": "str",
            "duration": "int",
            "contentUrl": "str",
            "content": "bytes",
        }

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--videos", help="folder of the downloaded videos (default: videos/)")
        parser.add_argument(
            "--strict", action="store_true", help="fail on a missing video instead of skipping"
        )

    @classmethod
    def options_from_args(cls, args: argparse.Namespace) -> dict[str, Any]:
        return {**super().options_from_args(args), "videos": args.videos, "strict": args.strict}

    def plan(self, raw: str, splits: list[str] | None = None) -> list[Part]:
        videos = self.videos or os.path.join(raw, "videos")
        if not os.path.isdir(videos):
            videos = raw
        parts: list[Part] = []
        for split in ("train", "val"):
            csvs = find(raw, f"*_{split}.csv")
            if splits is not None and split in splits and not csvs:
                raise RawDataError(f"No WebVid {split} CSV in {raw!r}; expected {self.layout}")
            if not want(split, splits):
                continue
            runs = [(path, *run) for path in csvs for run in _row_runs(path, self.part_size)]
            for k, (path, start, first_row, count) in enumerate(runs):
                payload = (path, start, first_row, count, videos, self.strict)
                source = f"{path} rows {first_row}-{first_row + count - 1}"
                parts.append(Part(split, k, source, payload))
        if not parts:
            raise RawDataError(f"No WebVid CSVs in {raw!r}; expected {self.layout}")
        return parts

    def read_part(self, part: Part) -> Iterator[dict[str, Any] | None]:
        path, start, first_row, count, videos, strict = part.payload
        with open(path, "rb") as raw_file:
            header = _header(path, raw_file)
            raw_file.seek(start)
            rows = csv.reader(io.TextIOWrapper(raw_file, encoding="utf-8", newline=""))
            n = 0
            while n < count:
                row = next(rows, None)
                if row == []:  # a blank line
                    continue
                where = f"{path!r}, row {first_row + n}"
                n += 1
                if row is None or len(row) != len(header):
                    raise RawDataError(
                        f"{where}: expected {len(header)} fields, got "
                        f"{0 if row is None else len(row)}"
                    )
                record = dict(zip(header, row, strict=True))
                video = _find_video(videos, record["page_dir"], record["videoid"])
                if video is None:
                    if strict:
                        raise RawDataError(
                            f"{where}: no video file for videoid {record['videoid']!r} in "
                            f"{videos!r}"
                        )
                    yield None
                    continue
                yield {
                    "videoid": record["videoid"],
                    "name": record["name"],
                    "page_dir": record["page_dir"],
                    "duration": parse_duration(record["duration"], where),
                    "contentUrl": record["contentUrl"],
                    "content": read_bytes(video),
                }


def parse_duration(text: str, where: str) -> int:
    """Seconds of an ISO 8601 duration as WebVid writes it (``PT00H00M12S``)."""
    m = _DURATION.match(text.strip())
    if not m:
        raise RawDataError(f"{where}: duration {text!r} is not like 'PT00H00M12S'")
    hours, minutes, seconds = (int(g) for g in m.groups())
    return hours * 3600 + minutes * 60 + seconds


def _header(path: str, f: Any) -> list[str]:
    line = f.readline().decode("utf-8-sig").strip()
    header = next(csv.reader([line]), [])
    missing = [h for h in HEADER if h not in header]
    if missing:
        raise RawDataError(f"{path!r}: the header lacks {missing}; expected {','.join(HEADER)}")
    return header


def _row_runs(path: str, size: int) -> list[tuple[int, int, int]]:
    """(byte offset, first row number, row count) of each run of `size` CSV records.

    Records may hold quoted newlines, so a record ends at a newline only where the quotes
    seen so far are balanced.
    """
    runs: list[tuple[int, int, int]] = []
    with open(path, "rb") as f:
        _header(path, f)
        start, rows, quotes = f.tell(), 0, 0
        for line in iter(f.readline, b""):
            quotes += line.count(b'"')
            if quotes % 2 or not line.strip():
                continue
            quotes = 0
            rows += 1
            if rows == size:
                runs.append((start, sum(r[2] for r in runs) + 1, rows))
                start, rows = f.tell(), 0
        if rows:
            runs.append((start, sum(r[2] for r in runs) + 1, rows))
    return runs


def _find_video(videos: str, page_dir: str, videoid: str) -> str | None:
    for folder in (os.path.join(videos, page_dir), videos):
        for ext in _VIDEO_EXT:
            path = os.path.join(folder, videoid + ext)
            if os.path.isfile(path):
                return path
    return None
