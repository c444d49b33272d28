"""``streaming verify URL``: check every shard file against the sizes and hashes in its index.

Each file of each shard is checked: its size, every hash the index records for it (or only
``--hash``), and for a compressed file that it decompresses to the recorded raw size and
hashes. A local dataset is read in place (both the compressed file and a decompressed copy,
when both are there); a remote one is downloaded shard by shard to a temporary directory.
``--samples`` also decodes every sample. Bad shards are listed by name, and the command exits
with 1 if there is any.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from streaming.cli.errors import UsageError
from streaming.cli.location import DatasetDir, fetch, find_datasets

HELP = "check every shard against its recorded sizes and hashes; exit 1 if any is bad"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options."""
    parser.add_argument("url", help="dataset directory or its parent: a path or a remote URL")
    parser.add_argument(
        "--hash", action="append", dest="algos", metavar="ALGO",
        help="check only this hash algorithm (repeatable; default: every one recorded)",
    )  # fmt: skip
    parser.add_argument("--samples", action="store_true", help="also decode every sample")
    parser.add_argument("--workers", type=int, default=8, help="shards checked at once")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args: argparse.Namespace) -> int:
    """Verify every dataset at the URL; 1 if any shard is bad."""
    from tqdm import tqdm

    from streaming.format.hashing import is_hash

    for algo in args.algos or []:
        if not is_hash(algo):
            raise UsageError(f"Unknown hash algorithm {algo!r}", "e.g. --hash xxh64 or sha1")
    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    bad_total = 0
    for dataset in find_datasets(args.url):
        shards = dataset.index["shards"]
        print(f"Checking {dataset.url}: {len(shards):,} shard{'' if len(shards) == 1 else 's'}")
        bar = tqdm(total=len(shards), unit=" shards", disable=args.no_progress, file=sys.stderr)
        problems: list[tuple[int, str]] = []
        unhashed = 0
        with tempfile.TemporaryDirectory(prefix="streaming-verify-") as tmp:
            with ThreadPoolExecutor(args.workers) as pool:
                jobs = [
                    pool.submit(check_shard, dataset, i, shard, args.algos, args.samples, tmp)
                    for i, shard in enumerate(shards)
                ]
                for i, job in enumerate(jobs):
                    found, hashed = job.result()
                    problems += [(i, p) for p in found]
                    unhashed += not hashed
                    bar.update(1)
        bar.close()
        bad = sorted({i for i, _ in problems})
        for i, problem in problems:
            print(f"  BAD shard {i}: {problem}")
        if unhashed:
            print(f"  note: {unhashed:,} of them record no hashes; only their sizes were checked")
        ok = len(shards) - len(bad)
        print(f"{dataset.url}: {ok:,} of {len(shards):,} shards OK, {len(bad):,} bad")
        bad_total += len(bad)
    return 1 if bad_total else 0


def check_shard(
    dataset: DatasetDir,
    i: int,
    shard: dict[str, Any],
    algos: list[str] | None,
    samples: bool,
    tmp: str,
) -> tuple[list[str], bool]:
    """The problems of one shard, and whether any hash was checked."""
    from streaming.format.compression import decompress

    problems: list[str] = []
    hashed = False
    work = os.path.join(tmp, f"shard-{i}")
    os.makedirs(work, exist_ok=True)
    try:
        for raw_key, zip_key in (("raw_data", "zip_data"), ("raw_meta", "zip_meta")):
            raw_info, zip_info = shard.get(raw_key), shard.get(zip_key)
            if not raw_info:
                continue
            if dataset.local is not None:  # check what is there: compressed, raw, or both
                raw_path = fetch(dataset, raw_info["basename"], work)
                zip_path = fetch(dataset, zip_info["basename"], work) if zip_info else None
            else:  # a remote holds the compressed file when there is one
                zip_path = fetch(dataset, zip_info["basename"], work) if zip_info else None
                raw_path = None if zip_info else fetch(dataset, raw_info["basename"], work)
            if raw_path is None and zip_path is None:
                problems.append(f"{raw_info['basename']}: missing")
                continue
            if zip_path is not None:
                data = _read(zip_path)
                found, checked = _check(data, zip_info, algos)
                problems += found
                hashed |= checked
                if not found:
                    try:
                        unzipped = decompress(
                            shard["compression"], data, zip_info["basename"], raw_info["bytes"]
                        )
                    except ValueError as err:
                        problems.append(f"{zip_info['basename']}: {err}")
                    else:
                        found, _ = _check(unzipped, raw_info, algos, zip_info["basename"])
                        problems += found
            if raw_path is not None:
                found, checked = _check(_read(raw_path), raw_info, algos)
                problems += found
                hashed |= checked
        if samples and not problems:
            problems += _decode_all(dataset, i, shard, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return problems, hashed


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _check(
    data: bytes, info: dict[str, Any], algos: list[str] | None, source: str | None = None
) -> tuple[list[str], bool]:
    """Size and hash problems of one file's bytes, and whether a hash was checked."""
    from streaming.format.hashing import get_hash

    name = info["basename"] + (f" (decompressed from {source})" if source else "")
    if len(data) != info["bytes"]:
        return [f"{name}: {len(data):,} bytes, index.json records {info['bytes']:,}"], False
    recorded = info.get("hashes", {})
    wanted = [a for a in (algos or sorted(recorded)) if a in recorded]
    problems = []
    for algo in wanted:
        actual = get_hash(algo, data)
        if actual != recorded[algo]:
            problems.append(f"{name}: {algo} is {actual}, index.json records {recorded[algo]}")
    return problems, bool(wanted)


def _decode_all(dataset: DatasetDir, i: int, shard: dict[str, Any], work: str) -> list[str]:
    """Decode every sample of a shard whose files passed, from a private copy."""
    from streaming.format.errors import UnsafeEncodingError
    from streaming.format.reader import shard_from_entry

    for key in ("zip_data", "raw_data", "zip_meta", "raw_meta"):
        info = shard.get(key)
        dest = os.path.join(work, info["basename"]) if info else None
        if dest and not os.path.exists(dest):
            source = fetch(dataset, info["basename"], work)
            if source is not None and source != dest:
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                os.symlink(os.path.abspath(source), dest)
    try:
        reader = shard_from_entry(work, shard, i)
        for j in range(shard["samples"]):
            reader.get_item(j)
    except UnsafeEncodingError:
        return []  # pkl columns run code when decoded: not for a checker to do
    except (ValueError, OSError) as err:
        return [f"{shard['raw_data']['basename']}: {err}"]
    return []
