"""The command lines of mosaicml-streaming's convert scripts, over our converters.

``python -m streaming.<kind>.convert.<name>`` takes the peer's arguments (``--in_root``,
``--out_root``, ``--compression``, ``--hashes``, ``--size_limit``, ``--splits``,
``--progress_bar``, ``--leave``...) and writes the peer's MDS columns, through the converter of
``streaming convert <name>`` (parallel, resumable; each split's shards go under
``<out_root>/<split>/part-NNNNN/`` with one merged ``index.json`` per split). `PeerColumns`
turns a converter's samples into the peer's columns.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import Any

from streaming.datasets.convert import Converter, Part, convert


def get_list_arg(text: str | None) -> list[str]:
    """``"a,b"`` -> ``["a", "b"]``; empty -> ``[]`` (the peer's ``get_list_arg``)."""
    return text.split(",") if text else []


def parser(
    description: str,
    *,
    size_limit: int,
    compression: str | None = None,
    splits: str | None = None,
    progress: bool = True,
    in_root: bool = True,
) -> argparse.ArgumentParser:
    """An `ArgumentParser` with the peer's common options, under their names and defaults."""
    p = argparse.ArgumentParser(description=description)
    if in_root:
        p.add_argument("--in_root", type=str, required=True,
                       help="Local directory path of the input raw dataset")  # fmt: skip
    p.add_argument("--out_root", type=str, required=True,
                   help="Directory path or remote URL to store the output dataset")  # fmt: skip
    if splits is not None:
        p.add_argument("--splits", type=str, default=splits, help=f"Splits. Default: {splits}")
    p.add_argument("--compression", type=str, default=compression or "",
                   help=f"Compression algorithm to use. Default: {compression}")  # fmt: skip
    p.add_argument("--hashes", type=str, default="sha1,xxh64",
                   help="Hashing algorithms for shard files. Default: sha1,xxh64")  # fmt: skip
    p.add_argument("--size_limit", type=int, default=size_limit,
                   help=f"Shard size limit in bytes. Default: {size_limit}")  # fmt: skip
    if progress:
        p.add_argument("--progress_bar", type=int, default=1,
                       help="tqdm progress bar. Default: 1 (True)")  # fmt: skip
        p.add_argument("--leave", type=int, default=0,
                       help="Keep the progress bar when done. Default: 0 (False)")  # fmt: skip
    return p


def run(
    converter: Converter,
    args: argparse.Namespace,
    in_root: str | None = None,
    splits: list[str] | None = None,
) -> None:
    """Convert `in_root` (default ``args.in_root``) to ``args.out_root`` with the parsed options,
    and print the summary."""
    report = convert(
        converter,
        in_root or args.in_root,
        args.out_root,
        compression=args.compression or None,
        hashes=get_list_arg(args.hashes),
        size_limit=args.size_limit,
        splits=splits,
        progress=bool(getattr(args, "progress_bar", 1)),
    )
    print(report.format(), file=sys.stderr)


class PeerColumns(Converter):
    """Converter `inner`'s plan, with each sample turned into the peer's columns by `adapt`.

    Subclasses set `peer_columns` and implement `adapt`; instances pickle like `inner`.
    """

    peer_columns: dict[str, str] = {}

    def __init__(self, inner: Converter) -> None:
        super().__init__(inner.part_size)
        self.inner = inner
        self.name = inner.name
        self.layout = inner.layout
        self.default_size_limit = inner.default_size_limit

    @property
    def columns(self) -> dict[str, str]:
        return self.peer_columns

    def plan(self, raw: str, splits: list[str] | None = None) -> list[Part]:
        return self.inner.plan(raw, splits)

    def read_part(self, part: Part) -> Iterator[dict[str, Any] | None]:
        for k, sample in enumerate(self.inner.read_part(part)):
            yield None if sample is None else self.adapt(part, k, sample)

    def adapt(self, part: Part, k: int, sample: dict[str, Any]) -> dict[str, Any] | None:
        """The peer's sample from `inner`'s `k`-th sample of `part` (None skips it)."""
        raise NotImplementedError
