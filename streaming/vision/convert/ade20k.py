"""``python -m streaming.vision.convert.ade20k --in_root RAW --out_root OUT``: ADE20K
(``images/{training,validation}/ADE_*.jpg`` and ``annotations/...png``) to the peer's MDS columns
``uid`` (``bytes``: the image number, e.g. ``b"00000001"``), ``x`` (``jpeg``) and ``y``
(``png``), per split (train, val). The four train images the peer drops as corrupt are dropped.
"""

from __future__ import annotations

import os
from typing import Any

from streaming.datasets.convert.ade20k import ADE20KConverter
from streaming.datasets.convert.base import Part
from streaming.datasets.peer_convert import PeerColumns, get_list_arg, parser, run

#: Train images the peer's converter leaves out.
CORRUPTED = {"00003020", "00001701", "00013508", "00008455"}


class PeerADE20K(PeerColumns):
    """ADE20K with the peer's ``uid`` (the last 8 characters of the file name, as bytes)."""

    peer_columns = {"uid": "bytes", "x": "jpeg", "y": "png"}

    def __init__(self) -> None:
        super().__init__(ADE20KConverter())

    def adapt(self, part: Part, k: int, sample: dict[str, Any]) -> dict[str, Any] | None:
        uid = os.path.basename(sample["uid"])[-8:]
        if part.split == "train" and uid in CORRUPTED:
            return None
        return {**sample, "uid": uid.encode("utf-8")}


def main(argv: list[str] | None = None) -> None:
    """Parse the peer's arguments and convert."""
    args = parser(__doc__ or "", size_limit=1 << 22, splits="train,val").parse_args(argv)
    run(PeerADE20K(), args, splits=get_list_arg(args.splits))


if __name__ == "__main__":
    main()
