"""``python -m streaming.vision.convert.coco --in_root RAW --out_root OUT``: COCO 2017
(``annotations/instances_{train,val}2017.json`` and the images) to the peer's MDS columns
``img``, ``img_id``, ``htot``, ``wtot``, ``bbox_sizes`` and ``bbox_labels``, per split
(train, val)."""

from __future__ import annotations

from streaming.datasets.convert.coco import COCOConverter
from streaming.datasets.peer_convert import parser, run


def main(argv: list[str] | None = None) -> None:
    """Parse the peer's arguments and convert."""
    args = parser(__doc__ or "", size_limit=1 << 25).parse_args(argv)
    run(COCOConverter(), args)


if __name__ == "__main__":
    main()
