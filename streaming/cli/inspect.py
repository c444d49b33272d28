"""``streaming inspect URL``: what a dataset holds, read from its index, and what looks wrong.

Prints each dataset's shards, samples, columns and encodings, compression, hashes and bytes,
then its problems: every index field the reader would refuse (`streaming.cli.checks`), columns
that differ between shards, file names used twice, and (for a local dataset) shard files that
are missing or of the wrong size; then notes on what is valid but worth knowing: empty shards,
shards without hashes, ``pkl`` columns. For a remote URL only ``index.json`` is downloaded.
The command exits with 1 if it lists any problem (notes do not count).
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from streaming.cli.checks import index_problems, parse_leniently, shard_problems
from streaming.cli.location import DatasetDir, find_datasets

HELP = "print a dataset's shards, samples, columns, bytes and problems; exit 1 if any problem"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options."""
    parser.add_argument("url", help="dataset directory or its parent: a path or a remote URL")
    parser.add_argument("--json", action="store_true", help="print a JSON object instead")


def run(args: argparse.Namespace) -> int:
    """Print the report; exit 1 if it lists any problem."""
    reports = [summarize(d) for d in find_datasets(args.url, parse=parse_leniently)]
    if args.json:
        print(json.dumps(reports if len(reports) > 1 else reports[0], indent=2))
    else:
        print("\n\n".join(format_report(r) for r in reports))
    return 1 if any(r["problems"] for r in reports) else 0


def columns_of(shard: dict[str, Any]) -> list[tuple[str, str, int | None]]:
    """(name, encoding, fixed size or None) of each column of a shard."""
    if shard["format"] == "json":
        return [(n, e, None) for n, e in shard["columns"].items()]
    sizes = shard.get("column_sizes") or [None] * len(shard["column_names"])
    return list(zip(shard["column_names"], shard["column_encodings"], sizes, strict=True))


def summarize(dataset: DatasetDir) -> dict[str, Any]:
    """The facts `format_report` prints, as a JSON-ready dict."""
    problems = [f"index.json: {p}" for p in index_problems(dataset.index)]
    shards = []  # the well-formed entries: only they are summed up
    for i, entry in enumerate(dataset.index["shards"]):
        found = shard_problems(entry)
        problems += [f"shard {i}: {p}" for p in found]
        if not found:
            shards.append((i, entry))
    counts = [s["samples"] for _, s in shards]
    raw = sum(_bytes(s, "raw_data") + _bytes(s, "raw_meta") for _, s in shards)
    stored = sum(_stored(s) for _, s in shards)
    notes = []
    columns = columns_of(shards[0][1]) if shards else []
    for i, shard in shards:
        name = shard["raw_data"]["basename"]
        if columns_of(shard) != columns:
            problems.append(f"shard {i} ({name}) has other columns than shard {shards[0][0]}")
        if not shard["samples"]:
            notes.append(f"shard {i} ({name}) holds no samples")
        if not shard.get("hashes"):
            notes.append(f"shard {i} ({name}) records no hashes: verify can check sizes only")
        if dataset.local is not None:
            problems += _file_problems(dataset, i, shard)
    for col, enc, _ in columns:
        if enc == "pkl":
            notes.append(f"column {col!r} is pkl: reading it runs code (allow_unsafe_types)")
    return {
        "url": dataset.url,
        "index_bytes": dataset.index_bytes,
        "shards": len(dataset.index["shards"]),
        "malformed_shards": len(dataset.index["shards"]) - len(shards),
        "formats": sorted({s["format"] for _, s in shards}),
        "samples": sum(counts),
        "samples_per_shard": [min(counts), max(counts)] if counts else [0, 0],
        "columns": [{"name": n, "encoding": e, "size": z} for n, e, z in columns],
        "compression": sorted({s.get("compression") or "none" for _, s in shards}),
        "hashes": sorted({h for _, s in shards for h in s.get("hashes", [])}),
        "size_limit": sorted({s.get("size_limit") for _, s in shards}, key=lambda v: v or 0),
        "raw_bytes": raw,
        "stored_bytes": stored,
        "problems": problems,
        "notes": notes,
    }


def _bytes(shard: dict[str, Any], key: str) -> int:
    info = shard.get(key)
    return info["bytes"] if info else 0


def _stored(shard: dict[str, Any]) -> int:
    data = shard.get("zip_data") or shard["raw_data"]
    meta = shard.get("zip_meta") or shard.get("raw_meta")
    return data["bytes"] + (meta["bytes"] if meta else 0)


def _file_problems(dataset: DatasetDir, i: int, shard: dict[str, Any]) -> list[str]:
    problems = []
    for raw_key, zip_key in (("raw_data", "zip_data"), ("raw_meta", "zip_meta")):
        present = []
        for key in (raw_key, zip_key):
            info = shard.get(key)
            if not info:
                continue
            path = dataset.file_url(info["basename"])
            if os.path.isfile(path):
                present.append(key)
                size = os.path.getsize(path)
                if size != info["bytes"]:
                    problems.append(
                        f"shard {i}: {info['basename']} is {size:,} bytes, index.json records "
                        f"{info['bytes']:,}"
                    )
        if shard.get(raw_key) and not present:
            problems.append(f"shard {i}: {shard[raw_key]['basename']} is missing")
    return problems


def format_report(r: dict[str, Any]) -> str:
    """The report of one dataset, for people."""
    low, high = r["samples_per_shard"]
    per_shard = f"{low:,}" if low == high else f"{low:,} to {high:,}"
    cols = ", ".join(
        f"{c['name']}: {c['encoding']}" + (f" ({c['size']} B)" if c["size"] else "")
        for c in r["columns"]
    )
    stored = _human(r["stored_bytes"])
    if r["stored_bytes"] != r["raw_bytes"]:
        stored += f" stored, {_human(r['raw_bytes'])} uncompressed"
    limits = ", ".join(_human(v) if v else "none" for v in r["size_limit"])
    bad = r["malformed_shards"]
    malformed = f", {bad:,} malformed (left out below)" if bad else ""
    lines = [
        f"{r['url']}",
        f"  shards       {r['shards']:,} ({', '.join(r['formats']) or '-'}){malformed}",
        f"  samples      {r['samples']:,} ({per_shard} per shard)",
        f"  columns      {cols or '-'}",
        f"  compression  {', '.join(r['compression']) or '-'}",
        f"  hashes       {', '.join(r['hashes']) or 'none'}",
        f"  bytes        {stored} (index.json {_human(r['index_bytes'])})",
        f"  size limit   {limits or '-'}",
    ]
    if r["problems"]:
        lines.append(f"  problems     {len(r['problems'])}:")
        lines += _listed(r["problems"])
    else:
        lines.append("  problems     none found")
    if r["notes"]:
        lines.append(f"  notes        {len(r['notes'])}:")
        lines += _listed(r["notes"])
    return "\n".join(lines)


def _listed(items: list[str], most: int = 50) -> list[str]:
    lines = [f"    - {p}" for p in items[:most]]
    if len(items) > most:
        lines.append(f"    ... and {len(items) - most} more")
    return lines


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n} B"
