"""``python -m streaming.text.convert.c4 --in_root RAW --out_root OUT``: C4 (English) to the
peer's MDS columns ``text``, ``timestamp`` and ``url``, as splits train and val.

The peer's script streams C4 from the Hugging Face hub; this one reads a local copy instead
(``--in_root``: the ``c4-train.NNNNN-of-01024.json.gz`` and ``c4-validation.*.json.gz`` files
of ``allenai/c4``'s ``en`` folder), and takes the peer's other arguments (``--batch_size`` is the
peer's DataLoader batch and changes nothing here).
"""

from __future__ import annotations

from streaming.datasets.convert.c4 import C4Converter
from streaming.datasets.peer_convert import parser, run


def main(argv: list[str] | None = None) -> None:
    """Parse the peer's arguments and convert."""
    p = parser(__doc__ or "", size_limit=1 << 27, compression="zstd:7")
    p.add_argument("--batch_size", type=int, default=512, help="Accepted for the peer's commands")
    run(C4Converter(), p.parse_args(argv))


if __name__ == "__main__":
    main()
