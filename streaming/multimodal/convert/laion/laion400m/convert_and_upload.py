"""``python -m streaming.multimodal.convert.laion.laion400m.convert_and_upload --local DIR
--remote URL``: LAION-400M as img2dataset downloads it (``00000.parquet``, ``00000.tar`` or
``00000/`` per shard in ``--local``) to MDS at ``--remote`` (a directory or store URL), with the
peer's columns: the metadata columns and ``jpg`` as ``bytes`` (the JPEG file).

Unlike the peer's script, which polls ``--local`` while img2dataset is still downloading, this
converts what ``--local`` holds once, when run: run it after the download (a re-run keeps the
parts already converted and converts the rest). ``--keep_parquet``, ``--keep_mds`` and
``--poll_interval`` are accepted for the peer's command lines: nothing is deleted, and nothing
polls. The dataset's ``index.json`` is at ``--remote`` itself, as the peer's.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from streaming.datasets.convert import convert
from streaming.datasets.convert.base import Part
from streaming.datasets.convert.laion import LAIONConverter
from streaming.datasets.peer_convert import PeerColumns, get_list_arg
from streaming.storage.registry import is_remote_url

PEER_COLUMNS = {
    "nsfw": "str",
    "similarity": "float64",
    "license": "str",
    "caption": "str",
    "url": "str",
    "key": "str",
    "status": "str",
    "error_message": "str",
    "width": "int32",
    "height": "int32",
    "original_width": "int32",
    "original_height": "int32",
    "exif": "str",
    "jpg": "bytes",
}


class PeerLAION(PeerColumns):
    """LAION with the peer's columns (``jpg`` stored as ``bytes``)."""

    peer_columns = PEER_COLUMNS

    def __init__(self, split: str = "train") -> None:
        super().__init__(LAIONConverter())
        self.split = split

    def plan(self, raw: str, splits: list[str] | None = None) -> list[Part]:
        """The img2dataset shards, as parts of one split named `split`."""
        parts = super().plan(raw, None)
        return [Part(self.split, p.index, p.source, p.payload, p.samples) for p in parts]

    def adapt(self, part: Part, k: int, sample: dict[str, Any]) -> dict[str, Any]:
        return {**sample, "jpg": bytes(sample["jpg"])}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The peer's arguments."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--local", type=str, required=True, help="img2dataset output directory")
    p.add_argument("--remote", type=str, required=True, help="Where to write the MDS dataset")
    p.add_argument("--keep_parquet", type=int, default=1, help="Accepted; nothing is deleted")
    p.add_argument("--keep_mds", type=int, default=1, help="Accepted; nothing is deleted")
    p.add_argument("--hashes", type=str, default="sha1,xxh64", help="Hashes of the shards")
    p.add_argument("--poll_interval", type=float, default=30, help="Accepted; nothing polls")
    return p.parse_args(argv)


def main(args: argparse.Namespace) -> None:
    """Convert as parsed."""
    remote = args.remote if is_remote_url(args.remote) else os.path.abspath(args.remote)
    parent, _, name = remote.rstrip("/").rpartition("/")
    if not name or not parent or parent.endswith(":/"):
        raise SystemExit(f"error: --remote {args.remote!r} must name a directory inside another")
    hashes = get_list_arg(args.hashes)
    report = convert(PeerLAION(name), args.local, parent, hashes=hashes)
    print(report.format(), file=sys.stderr)


if __name__ == "__main__":
    main(parse_args())
