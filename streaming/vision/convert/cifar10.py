"""``python -m streaming.vision.convert.cifar10 --in_root RAW --out_root OUT``: CIFAR-10's python
batches (``cifar-10-batches-py/``, as torchvision downloads them) to the peer's MDS columns
``i`` (the image's index in its split), ``x`` (``pil``) and ``y``, per split (train, val).

Unlike the peer's script, nothing is downloaded: `--in_root` must hold the batches. Samples are
written in the batches' order (the peer writes them in an unseeded random order).
"""

from __future__ import annotations

from typing import Any

from streaming.datasets.convert.base import Part
from streaming.datasets.convert.cifar10 import CIFAR10Converter, load_batch
from streaming.datasets.peer_convert import PeerColumns, get_list_arg, parser, run


class PeerCIFAR10(PeerColumns):
    """CIFAR-10 with the peer's columns ``i``, ``x`` (raw pixels) and ``y``."""

    peer_columns = {"i": "int", "x": "pil", "y": "int"}

    def __init__(self) -> None:
        super().__init__(CIFAR10Converter(encoding="pil"))
        self.offsets: dict[tuple[str, int], int] = {}

    def plan(self, raw: str, splits: list[str] | None = None) -> list[Part]:
        parts = super().plan(raw, splits)
        seen: dict[str, int] = {}
        for part in parts:  # a split's batches in order: i continues from the batch before
            self.offsets[(part.split, part.index)] = seen.get(part.split, 0)
            seen[part.split] = seen.get(part.split, 0) + len(load_batch(part.payload)[1])
        return parts

    def adapt(self, part: Part, k: int, sample: dict[str, Any]) -> dict[str, Any]:
        return {"i": self.offsets[(part.split, part.index)] + k, **sample}


def main(argv: list[str] | None = None) -> None:
    """Parse the peer's arguments and convert."""
    args = parser(__doc__ or "", size_limit=1 << 20, splits="train,val").parse_args(argv)
    run(PeerCIFAR10(), args, splits=get_list_arg(args.splits))


if __name__ == "__main__":
    main()
