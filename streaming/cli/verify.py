"""``streaming verify URL``: check every shard against its index, as the reader would, and more.

Each shard is checked in three steps, and every problem of every shard is listed:

1. its index entry, field by field (`streaming.cli.checks`): everything the reader refuses,
   such as unknown encodings or hash names, ``column_sizes`` that do not match a fixed-size
   encoding, duplicate columns, sample counts or sizes out of bounds;
2. its files: their sizes, every hash the index records (or only ``--hash``), and for a
   compressed file that it decompresses to the recorded raw size and hashes;
3. its structure, by the reader itself: the header's sample count against the index, and the
   sample offsets.

``--samples`` also decodes every sample fully (images down to their pixels). Decoding ``pkl``
runs code from the file, so a shard with a ``pkl`` column is reported as not decoded unless
``--allow-unsafe-types`` is given. A local dataset is read in place and never written to; a
remote one is downloaded shard by shard to a temporary directory. Messages name the real paths
or URLs. The command exits with 1 if anything is wrong or was left unchecked.
"""

from __future__ import annotations

import argparse
import mmap
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from streaming.cli.checks import index_problems, parse_leniently, shard_problems
from streaming.cli.errors import UsageError
from streaming.cli.location import DatasetDir, fetch, find_datasets

HELP = "check every shard against its index, sizes and hashes; exit 1 if any is bad"
#: Bad samples listed per shard with --samples; the rest are counted.
MAX_BAD_SAMPLES = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options."""
    parser.add_argument("url", help="dataset directory or its parent: a path or a remote URL")
    parser.add_argument(
        "--hash", action="append", dest="algos", metavar="ALGO",
        help="check only this hash algorithm (repeatable; default: every one recorded)",
    )  # fmt: skip
    parser.add_argument("--samples", action="store_true", help="also decode every sample fully")
    parser.add_argument(
        "--allow-unsafe-types", action="store_true",
        help="with --samples, also decode pkl columns (this runs code from the dataset)",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=8, help="shards checked at once")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


@dataclass
class ShardResult:
    """What checking one shard found."""

    problems: list[str] = field(default_factory=list)
    not_decoded: str | None = None  # why --samples could not decode it


def run(args: argparse.Namespace) -> int:
    """Verify every dataset at the URL; 1 if anything is bad or unchecked."""
    from tqdm import tqdm

    from streaming.format.hashing import is_hash

    for algo in args.algos or []:
        if not is_hash(algo):
            raise UsageError(f"Unknown hash algorithm {algo!r}", "e.g. --hash xxh64 or sha1")
    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    failed = False
    for dataset in find_datasets(args.url, parse=parse_leniently):
        shards = dataset.index["shards"]
        print(f"Checking {dataset.url}: {len(shards):,} shard{'' if len(shards) == 1 else 's'}")
        bar = tqdm(total=len(shards), unit=" shards", disable=args.no_progress, file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="streaming-verify-") as tmp:
            with ThreadPoolExecutor(args.workers) as pool:
                jobs = [pool.submit(check_shard, dataset, i, shard, args, tmp)
                        for i, shard in enumerate(shards)]  # fmt: skip
                results = []
                for job in jobs:
                    results.append(job.result())
                    bar.update(1)
        bar.close()
        failed |= report(dataset, results, args.algos)
    return 1 if failed else 0


def report(dataset: DatasetDir, results: list[ShardResult], algos: list[str] | None) -> bool:
    """Print one dataset's findings; whether anything is wrong or unchecked."""
    whole = index_problems(dataset.index)
    for problem in whole:
        print(f"  BAD {dataset.file_url('index.json')}: {problem}")
    for i, result in enumerate(results):
        for problem in result.problems:
            print(f"  BAD shard {i}: {problem}")
        if result.not_decoded:
            print(f"  NOT DECODED shard {i}: {result.not_decoded}")
    shards = dataset.index["shards"]
    unhashed = sum(
        1 for entry, r in zip(shards, results, strict=True)
        if not r.problems and not _records_hash(entry, algos)
    )  # fmt: skip
    if unhashed:
        what = "no hashes" if not algos else f"no {' or '.join(algos)} hash"
        print(f"  note: {unhashed:,} of them record {what}; only their sizes were checked")
    bad = sum(1 for r in results if r.problems)
    undecoded = sum(1 for r in results if r.not_decoded and not r.problems)
    ok = len(results) - bad - undecoded
    line = f"{dataset.url}: {ok:,} of {len(results):,} shards OK, {bad:,} bad"
    if undecoded:
        line += f", {undecoded:,} not decoded"
    if whole:
        line += f"; index.json has {len(whole):,} problem{'' if len(whole) == 1 else 's'}"
    print(line)
    return bool(whole or bad or undecoded)


def _records_hash(entry: dict[str, Any], algos: list[str] | None) -> bool:
    for key in ("raw_data", "zip_data", "raw_meta", "zip_meta"):
        recorded = (entry.get(key) or {}).get("hashes") or {}
        if any(a in recorded for a in (algos or recorded)):
            return True
    return False


def check_shard(
    dataset: DatasetDir, i: int, entry: Any, args: argparse.Namespace, tmp: str
) -> ShardResult:
    """Everything wrong with one shard (see the module's docstring for the steps)."""
    fields = shard_problems(entry)
    if fields:  # its files cannot be read as the index says
        return ShardResult(fields)
    work = os.path.join(tmp, f"shard-{i}")
    os.makedirs(work, exist_ok=True)
    try:
        problems = _check_files(dataset, entry, args.algos, work)
        if problems:
            return ShardResult(problems)
        return _check_structure(dataset, i, entry, args, work)
    except OSError as err:  # a download or a read that failed: this shard is unchecked
        text = str(err).replace(os.path.join(work, ""), dataset.file_url(""))
        return ShardResult([f"cannot be read: {text}"])
    except Exception as err:  # anything else about one shard must not end the whole report
        text = str(err).replace(os.path.join(work, ""), dataset.file_url(""))
        return ShardResult([f"cannot be checked: {type(err).__name__}: {text}"])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _check_files(
    dataset: DatasetDir, entry: dict[str, Any], algos: list[str] | None, work: str
) -> list[str]:
    """Size and hash problems of the shard's files. Leaves in `work` what the reader needs:
    each raw file (a link to a local one, or the decompressed bytes)."""
    from streaming.format.compression import decompress

    problems: list[str] = []
    for raw_key, zip_key in (("raw_data", "zip_data"), ("raw_meta", "zip_meta")):
        raw_info, zip_info = entry.get(raw_key), entry.get(zip_key)
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
        if raw_path is not None:
            with _mapped(raw_path) as data:  # hashed in place: a shard can be 4 GiB
                problems += _check(data, raw_info, algos)
            _place(work, raw_info["basename"], raw_path)
        if zip_path is not None:
            data = _read(zip_path)
            found = _check(data, zip_info, algos)
            problems += found
            if found:
                continue
            try:
                unzipped = decompress(
                    entry["compression"], data, zip_info["basename"], raw_info["bytes"]
                )
            except ValueError as err:
                problems.append(f"{zip_info['basename']}: {err}")
                continue
            found = _check(unzipped, raw_info, algos, zip_info["basename"])
            problems += found
            if not found and raw_path is None:
                dest = os.path.join(work, raw_info["basename"])
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with open(dest, "wb") as f:
                    f.write(unzipped)
    return problems


def _place(work: str, basename: str, path: str) -> None:
    """Make `path` available in `work` under `basename` (a link; a download is there)."""
    dest = os.path.join(work, basename)
    if os.path.abspath(path) != os.path.abspath(dest):
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        os.symlink(os.path.abspath(path), dest)


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


@contextmanager
def _mapped(path: str) -> Iterator[bytes | mmap.mmap]:
    """The file's bytes, memory-mapped (an empty file cannot be mapped: b"")."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            yield b""
            return
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            yield data


def _check(
    data: bytes | mmap.mmap,
    info: dict[str, Any],
    algos: list[str] | None,
    source: str | None = None,
) -> list[str]:
    """Size and hash problems of one file's bytes."""
    from streaming.format.hashing import get_hash

    name = info["basename"] + (f" (decompressed from {source})" if source else "")
    if len(data) != info["bytes"]:
        return [f"{name}: {len(data):,} bytes, index.json records {info['bytes']:,}"]
    recorded = info.get("hashes", {})
    problems = []
    for algo in [a for a in (algos or sorted(recorded)) if a in recorded]:
        actual = get_hash(algo, data)
        if actual != recorded[algo]:
            problems.append(f"{name}: {algo} is {actual}, index.json records {recorded[algo]}")
    return problems


def _check_structure(
    dataset: DatasetDir, i: int, entry: dict[str, Any], args: argparse.Namespace, work: str
) -> ShardResult:
    """The reader's own checks of the files in `work` (header, offsets) and, with
    ``--samples``, every sample decoded. Paths in `work` are named as the real ones."""
    from streaming.format.reader import shard_from_entry

    real = dataset.file_url("")

    def named(err: BaseException) -> str:
        return str(err).replace(os.path.join(work, ""), real)

    index_path = dataset.file_url("index.json")
    try:
        reader = shard_from_entry(work, entry, i, allow_unsafe_types=True, index_path=index_path)
        for role in ("raw_data", "raw_meta"):
            if entry.get(role):
                reader.buffer(role)
    except (ValueError, OSError) as err:
        return ShardResult([named(err)])
    if not args.samples:
        return ShardResult()
    unsafe = [n for n, e in zip(entry.get("column_names", []), entry.get("column_encodings", []),
                                strict=False) if e == "pkl"]  # fmt: skip
    if unsafe and not args.allow_unsafe_types:
        return ShardResult(not_decoded=(
            f"{entry['raw_data']['basename']}: column {unsafe[0]!r} is pkl, and decoding pkl runs "
            "code from the file; pass --allow-unsafe-types to decode it if you trust this dataset"
        ))  # fmt: skip
    bad: list[str] = []
    for j in range(entry["samples"]):
        problem = _decode_fully(reader, j)
        if problem is not None:
            bad.append(named(problem))
    reader.close()
    if len(bad) > MAX_BAD_SAMPLES:
        bad = bad[:MAX_BAD_SAMPLES] + [f"... and {len(bad) - MAX_BAD_SAMPLES:,} more bad samples"]
    return ShardResult(bad)


def _decode_fully(reader: Any, j: int) -> Exception | None:
    """Decode sample `j` down to image pixels (PIL's ``open`` reads only the header)."""
    try:
        sample = reader.get_item(j)
    except (ValueError, OSError) as err:  # the format's errors name the file and sample
        return err
    except Exception as err:  # a pkl column's unpickling can raise anything
        return ValueError(f"Sample does not decode ({reader.where(j)}): "
                          f"{type(err).__name__}: {err}")  # fmt: skip
    for column, value in sample.items():
        try:
            _load(value)
        except Exception as err:  # PIL raises many types on a broken image
            return ValueError(f"Image does not decode (column {column!r}, {reader.where(j)}): "
                              f"{type(err).__name__}: {err}")  # fmt: skip
    return None


def _load(value: Any) -> None:
    from PIL import Image

    if isinstance(value, Image.Image):
        value.load()
    elif isinstance(value, list):
        for item in value:
            _load(item)
