"""``python -m streaming.vision.convert.imagenet --in_root RAW --out_root OUT``: ImageNet's
``train/<wnid>/*.JPEG`` and ``val/`` to the peer's MDS columns ``i``, ``x`` (``jpeg``) and
``y`` (the class's index among the sorted wnids), per split (train, val).

Every image is checked to decode whatever ``--validate`` says, and image files are found by
their image extension whatever ``--extensions`` says (both are accepted for the peer's command
lines).
"""

from __future__ import annotations

from streaming.datasets.convert.imagenet import ImageNetConverter
from streaming.datasets.peer_convert import get_list_arg, parser, run


def main(argv: list[str] | None = None) -> None:
    """Parse the peer's arguments and convert."""
    p = parser(__doc__ or "", size_limit=1 << 26, splits="train,val")
    p.add_argument("--validate", type=int, default=1, help="Validate that it is an Image (always)")
    p.add_argument("--extensions", type=str, default="jpeg", help="Image filename extensions")
    args = p.parse_args(argv)
    run(ImageNetConverter(), args, splits=get_list_arg(args.splits))


if __name__ == "__main__":
    main()
