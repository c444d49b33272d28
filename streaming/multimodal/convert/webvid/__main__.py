"""``python -m streaming.multimodal.convert.webvid --in <CSV file> --out <MDS output directory>``:
the command of mosaicml-streaming's README, which its own package cannot run. Converts as
``crawl_webvid`` does (``--out_root`` is accepted for ``--out``, and ``--num_procs``/``--limit``
as there)."""

from __future__ import annotations

import argparse
import os

from streaming.multimodal.convert.webvid.crawl_webvid import convert_csv


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """``--in``, ``--out`` (or ``--out_root``), ``--num_procs``, ``--limit``."""
    p = argparse.ArgumentParser(prog="python -m streaming.multimodal.convert.webvid",
                                description=__doc__)  # fmt: skip
    p.add_argument("--in", type=str, required=True, help="WebVid CSV file")
    p.add_argument("--out", "--out_root", dest="out", type=str, required=True,
                   help="MDS output directory (or URL)")  # fmt: skip
    p.add_argument("--num_procs", type=int, default=64, help="Parallel processes")
    p.add_argument("--limit", type=int, default=-1, help="Only the first rows (-1: all)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Convert as parsed."""
    args = parse_args(argv)
    workers = max(1, min(args.num_procs, os.cpu_count() or 1))
    convert_csv(getattr(args, "in"), args.out, workers, args.limit, progress=True)


if __name__ == "__main__":
    main()
