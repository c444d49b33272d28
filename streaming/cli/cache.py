"""``streaming cache ls|clean``: list the local caches and delete them.

A cache is a directory a dataset of this user filled from a remote, known from the cache's own
records (local-only data, including a directory that is its own remote, is never listed).
``ls`` prints each cache's path, remote, size, file count and last use. ``clean`` deletes, from
the given caches (or with ``--all`` every cache found; ``--older-than`` keeps recent ones), only
the files the cache downloaded; a cache that a running job is reading is skipped and named.
"""

from __future__ import annotations

import argparse
import sys

from streaming.cli.errors import UsageError

HELP = "list (ls) or delete (clean) the local caches of remote datasets"

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _age(text: str) -> float:
    if len(text) > 1 and text[-1] in _UNITS and text[:-1].replace(".", "", 1).isdigit():
        return float(text[:-1]) * _UNITS[text[-1]]
    raise argparse.ArgumentTypeError(f"{text!r} is not an age like 30m, 12h or 7d")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options."""
    parser.add_argument("action", choices=["ls", "clean"])
    parser.add_argument(
        "paths", nargs="*",
        help="caches, or folders to search for caches (default: all of your caches)",
    )  # fmt: skip
    parser.add_argument("--all", action="store_true", help="clean: every cache found")
    parser.add_argument(
        "--older-than", type=_age, metavar="AGE", help="clean: only caches unused for AGE (7d)"
    )


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return ""


def run(args: argparse.Namespace) -> int:
    """List or clean; 1 if a cache to clean was in use."""
    from streaming.cache.inventory import clean_cache, default_roots, describe_cache, find_caches

    roots = args.paths or default_roots()
    caches = [describe_cache(p) for p in find_caches(roots)]
    if args.action == "ls":
        for c in caches:
            print(f"{c.path}\t{c.remote}\t{_size(c.bytes)}\t{c.files} files\t"
                  f"last used {c.age_seconds / 3600:.1f} h ago")  # fmt: skip
        print(f"{len(caches)} cache(s), {_size(sum(c.bytes for c in caches))} in all",
              file=sys.stderr)  # fmt: skip
        return 0
    if not args.paths and not args.all:
        raise UsageError("clean needs cache paths or --all", "streaming cache ls lists them")
    for path in args.paths:
        if not list(find_caches([path])):
            print(
                f"{path}: no cache of yours there (only directories filled from another "
                "location are caches); nothing deleted",
                file=sys.stderr,
            )
    if args.older_than is not None:
        caches = [c for c in caches if c.age_seconds >= args.older_than]
    busy = freed = 0
    for c in caches:
        if clean_cache(c.path):
            freed += c.bytes
            print(f"deleted {c.path} ({_size(c.bytes)})")
        else:
            busy += 1
            print(f"skipped {c.path}: a running job is reading it", file=sys.stderr)
    print(f"{len(caches) - busy} cache(s) deleted, {_size(freed)} freed", file=sys.stderr)
    return 1 if busy else 0
