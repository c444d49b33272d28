"""``streaming convert DATASET --in RAW --out URL``: a raw dataset to MDS, with progress.

One sub-command per dataset of `streaming.datasets.convert.CONVERTERS`, each with the common
options below and its own (``streaming convert cifar10 --help``). The conversion runs in
parallel processes; Ctrl-C says which parts are done, and the same command continues.
"""

from __future__ import annotations

import argparse
from typing import Any

from streaming.cli.errors import INTERRUPTED, UsageError

HELP = "convert a raw dataset (cifar10, imagenet, c4...) to MDS"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One sub-parser per dataset, each with the common options and the dataset's own."""
    from streaming.datasets.convert import CONVERTERS, get_converter_class

    datasets = parser.add_subparsers(dest="dataset", metavar="DATASET", required=True)
    for name in CONVERTERS:
        cls = get_converter_class(name)
        sub = datasets.add_parser(
            name,
            help=cls.summary,
            description=f"Convert {cls.summary} to MDS. Raw layout: {cls.layout}.",
        )
        _add_common(sub, cls)
        cls.add_arguments(sub)


def _add_common(parser: argparse.ArgumentParser, cls: Any) -> None:
    add = parser.add_argument
    add("--in", dest="raw", required=True, metavar="RAW", help="the raw dataset's directory")
    add("--out", required=True, metavar="URL",
        help="output root, a path or a remote URL; each split goes to URL/<split>")  # fmt: skip
    add("--compression", default=None,
        help=f"none, zstd:7, ... (default: {cls.default_compression})")  # fmt: skip
    add("--hashes", default="xxh64", help="hashes to record, comma-separated (default: xxh64)")
    add("--size-limit", default=None, help=f"shard size (default: {cls.default_size_limit})")
    add("--workers", type=int, default=None, help="worker processes (default: one per CPU)")
    add("--splits", default=None, help="splits to convert, comma-separated (default: all)")
    add("--part-size", type=int, default=10_000,
        help="samples per part, where parts are runs of samples (default: 10000)")  # fmt: skip
    add("--overwrite", action="store_true", help="convert everything again, not continue")
    add("--work-dir", default=None, help="local staging directory for a remote --out")
    add("--no-progress", action="store_true", help="hide the progress bar")
    add("--engine", choices=["local", "spark"], default="local",
        help="local: worker processes here; spark: one Spark task per part, on the executors "
        "of the current Spark session (spark-submit) or a new one")  # fmt: skip
    add("--spark-master", default=None, help="with --engine spark: master of a new session")


def run(args: argparse.Namespace) -> int:
    """Run the conversion and print its summary."""
    from streaming.datasets.convert import ConversionInterrupted, convert, get_converter_class

    cls = get_converter_class(args.dataset)
    settings = _settings(args, cls)
    try:
        converter = cls(**cls.options_from_args(args))
    except ValueError as err:
        raise UsageError(str(err), f"see `streaming convert {args.dataset} --help`") from None
    if args.engine == "spark":
        from streaming.datasets.convert.spark_engine import convert_on_spark

        print(f"Converting {args.dataset} on Spark to {args.out}")
        convert_on_spark(
            converter, args.raw, args.out, compression=settings["compression"],
            hashes=settings["hashes"], size_limit=settings["size_limit"],
            splits=settings["splits"], master=args.spark_master,
        )  # fmt: skip
        return 0
    try:
        report = convert(converter, args.raw, args.out, progress=not args.no_progress, **settings)
    except ConversionInterrupted as err:
        print(str(err))
        return INTERRUPTED
    print(report.format())
    return 0


def _settings(args: argparse.Namespace, cls: Any) -> dict[str, Any]:
    from streaming.format.compression import is_compression
    from streaming.format.hashing import is_hash
    from streaming.format.sizes import bytes_to_int

    compression = cls.default_compression if args.compression is None else args.compression
    if compression in ("none", ""):
        compression = None
    if not is_compression(compression):
        raise UsageError(
            f"Unknown compression {compression!r}",
            "use none, br, bz2, gz, snappy or zstd, optionally with a level: zstd:7",
        )
    hashes = [h for h in args.hashes.split(",") if h] if args.hashes != "none" else []
    for algo in hashes:
        if not is_hash(algo):
            raise UsageError(f"Unknown hash algorithm {algo!r}", "e.g. --hashes xxh64,sha1")
    if args.size_limit is not None:
        try:
            bytes_to_int(args.size_limit)
        except ValueError as err:
            raise UsageError(str(err), "e.g. --size-limit 64mb") from None
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    return {
        "compression": compression,
        "hashes": sorted(hashes),
        "size_limit": args.size_limit,
        "workers": args.workers,
        "splits": args.splits.split(",") if args.splits else None,
        "overwrite": args.overwrite,
        "work_dir": args.work_dir,
    }
