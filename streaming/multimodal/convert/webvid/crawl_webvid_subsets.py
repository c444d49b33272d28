"""``python -m streaming.multimodal.convert.webvid.crawl_webvid_subsets --csv CSV --mds_root DIR
--filters plane,train``: one MDS dataset per keyword (``<mds_root>/<keyword>``) of the WebVid
rows whose ``name`` contains it, as the peer's script makes them, with its columns
(``videoid``, ``name``, ``page_dir``, ``duration``, ``contentUrl``, ``content``); then, as the
peer's does, a demo: the subsets' sizes, and three epochs of 50 samples mixed from them.

Videos come from ``videos/`` beside the CSV when there, else from ``contentUrl``; a row whose
video cannot be had is left out, as the peer leaves it out. ``--limit`` counts matching rows.
Rows keep the CSV's order (the peer writes them as its downloads finish).
"""

from __future__ import annotations

import argparse
import csv
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from streaming.datasets.convert.webvid import _find_video, parse_duration
from streaming.multimodal.convert.webvid.crawl_webvid import fetch

COLUMNS = {
    "videoid": "str",
    "name": "str",
    "page_dir": "str",
    "duration": "int",
    "contentUrl": "str",
    "content": "bytes",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The peer's arguments."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--csv", type=str, required=True, help="Dataset CSV file")
    p.add_argument("--filters", type=str, default="plane,train,automobile,cat,dog",
                   help="Comma-separated keywords, one sub-dataset each")  # fmt: skip
    p.add_argument("--mds_root", type=str, required=True, help="Root of the output datasets")
    p.add_argument("--num_procs", type=int, default=64, help="Parallel downloads")
    p.add_argument("--limit", type=int, default=-1,
                   help='Only the first "limit" matching rows, or all of them if -1')  # fmt: skip
    return p.parse_args(argv)


def each_todo(filename: str, filters: list[str]) -> Iterator[dict[str, Any]]:
    """Each CSV row whose name contains a keyword, with ``matches`` (those keywords)."""
    with open(filename, newline="", encoding="utf-8") as f:
        for row_number, row in enumerate(csv.DictReader(f), 2):
            matches = [k for k in filters if k in row["name"]]
            if matches:
                yield {**row, "matches": matches, "where": f"{filename!r}, row {row_number}"}


def _sample(todo: dict[str, Any], videos: str) -> dict[str, Any] | None:
    local = _find_video(videos, todo["page_dir"], todo["videoid"])
    if local is not None:
        with open(local, "rb") as f:
            content: bytes | None = f.read()
    else:
        content = fetch(todo["contentUrl"], 60)
    if content is None:
        return None
    sample = {k: todo[k] for k in ("videoid", "name", "page_dir", "contentUrl")}
    return {**sample, "duration": parse_duration(todo["duration"], todo["where"]),
            "content": content, "matches": todo["matches"]}  # fmt: skip


def main(args: argparse.Namespace) -> None:
    """Write the subsets, then print their sizes and the demo epochs."""
    from streaming import MDSWriter, Stream, StreamingDataset

    filters = args.filters.split(",") if args.filters else []
    videos = os.path.join(os.path.dirname(os.path.abspath(args.csv)), "videos")
    todos = list(each_todo(args.csv, filters))
    if args.limit >= 0:
        todos = todos[: args.limit]
    writers: dict[str, MDSWriter] = {}
    with ThreadPoolExecutor(max(1, args.num_procs)) as pool:
        for sample in pool.map(lambda t: _sample(t, videos), todos):
            if sample is None:
                continue
            for match in sample.pop("matches"):
                if match not in writers:
                    out = os.path.join(args.mds_root, match)
                    writers[match] = MDSWriter(out=out, columns=COLUMNS)
                writers[match].write(sample)
    for writer in writers.values():
        writer.finish()
    for name in sorted(set(filters) - set(writers)):
        print(f'Subset "{name}": 0 samples (no video of a matching row); left out')
    present = sorted(writers)
    if not present:
        return
    streams = [Stream(local=os.path.join(args.mds_root, name), proportion=1 / len(present))
               for name in present]  # fmt: skip
    dataset = StreamingDataset(streams=streams, epoch_size=50, batch_size=1)
    for name, num_samples in zip(present, dataset.samples_per_stream, strict=True):
        print(f'Subset "{name}": {num_samples} samples')
    for epoch in range(3):
        print(f"Epoch {epoch}:")
        for idx, sample in enumerate(dataset):
            text = " ".join(sample["name"].split())
            print(f"{idx:6} | {text}")


if __name__ == "__main__":
    main(parse_args())
