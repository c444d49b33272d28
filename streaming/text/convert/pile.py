"""``python -m streaming.text.convert.pile --in_root RAW --out_root OUT``: the Pile
(``train/*.jsonl``, ``val.jsonl``, ``test.jsonl``, or the same ``.jsonl.zst``) to the peer's MDS
columns ``text`` and ``pile_set_name``, as splits train, val and test."""

from __future__ import annotations

from streaming.datasets.convert.pile import PileConverter
from streaming.datasets.peer_convert import parser, run


def main(argv: list[str] | None = None) -> None:
    """Parse the peer's arguments and convert."""
    p = parser(__doc__ or "", size_limit=1 << 27, compression="zstd:16", progress=False)
    run(PileConverter(), p.parse_args(argv))


if __name__ == "__main__":
    main()
