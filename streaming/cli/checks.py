"""What `inspect` and `verify` find wrong in an ``index.json``: every bad field of every shard.

The reader (`streaming.format.index.parse_index`) stops at the first bad field, which is right
for reading but not for a report. `parse_leniently` keeps whatever JSON the index holds, and
`index_problems` / `shard_problems` list each field the reader would refuse: versions, formats,
sample counts, file names and sizes (a raw file's offsets are uint32, so it holds less than
4 GiB), compression, hash names, column names (no duplicates), encodings (known ones only)
and each fixed-size column's ``column_sizes`` entry. The reader's own verdict is kept too: if it
refuses an index for a reason not listed here, that reason is reported as it words it.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

from streaming.format.errors import FormatError

#: A raw shard file is addressed by uint32 offsets: it is at most this many bytes.
MAX_RAW_BYTES = 2**32 - 1
_UINT32 = 2**32
FORMATS = ("csv", "json", "mds", "tsv", "xsv")
_SPLIT_FORMATS = {"json", "csv", "tsv", "xsv"}
_FILE_KEYS = ("raw_data", "zip_data", "raw_meta", "zip_meta")


def parse_leniently(raw: bytes, path: str) -> dict[str, Any]:
    """An index's JSON as it is, for `find_datasets(parse=...)`: never raises.

    Returns ``{"version": ..., "shards": [...entries, good or bad...], "problems": [...]}``,
    where ``problems`` lists what is wrong with the index as a whole (not JSON, no shard list)
    and ``reader_verdict`` is the reader's message if it refuses the index, else None.
    """
    from streaming.format.index import parse_index

    try:
        obj = parse_index(raw, path)
    except FormatError as err:
        verdict = str(err)
    else:
        return _index(obj["version"], obj["shards"], [], None)
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError) as err:
        return _index(None, [], [f"not valid JSON ({err})"], verdict)
    if not isinstance(obj, dict):
        return _index(None, [], ["expected a JSON object at the top"], verdict)
    problems = []
    if obj.get("version") != 2:
        problems.append(f"index version is {obj.get('version')!r}: only version 2 is supported")
    shards = obj.get("shards")
    if not isinstance(shards, list):
        problems.append(f"'shards' must be a list, got {_short(shards)}")
        shards = []
    return _index(obj.get("version"), shards, problems, verdict)


def _index(version: Any, shards: list, problems: list[str], verdict: str | None) -> dict:
    return {"version": version, "shards": shards, "problems": problems, "reader_verdict": verdict}


def index_problems(index: dict[str, Any]) -> list[str]:
    """What is wrong with the index as a whole, including file names that several shards use.

    The reader's verdict is added when nothing else explains why the reader refuses it.
    """
    problems = list(index.get("problems", []))
    names = Counter(
        entry[key]["basename"]
        for entry in index["shards"]
        if isinstance(entry, dict)
        for key in _FILE_KEYS
        if isinstance(entry.get(key), dict) and isinstance(entry[key].get("basename"), str)
    )
    problems += [f"{n!r} is named by {c} shard files" for n, c in sorted(names.items()) if c > 1]
    verdict = index.get("reader_verdict")
    if verdict and not problems and not any(shard_problems(s) for s in index["shards"]):
        problems.append(f"the reader refuses it: {verdict}")
    return problems


def shard_problems(entry: Any) -> list[str]:
    """Every field of one shard's index entry that the reader would refuse (empty if none)."""
    if not isinstance(entry, dict):
        return [f"expected a JSON object, got {_short(entry)}"]
    problems = []
    if entry.get("version") != 2:
        problems.append(f"shard version is {entry.get('version')!r}: only version 2 is supported")
    fmt = entry.get("format")
    if fmt not in FORMATS:
        problems.append(f"unknown format {_short(fmt)}: expected one of {', '.join(FORMATS)}")
    samples = entry.get("samples")
    if not _is_uint32(samples):
        problems.append(f"'samples' must be an integer from 0 to 2**32 - 1, got {_short(samples)}")
        samples = None
    problems += _file_problems(entry, fmt, samples)
    problems += _compression_problems(entry)
    problems += _hash_list_problems(entry.get("hashes", []))
    if fmt == "mds":
        problems += _mds_column_problems(entry)
    elif fmt == "json":
        problems += _json_column_problems(entry.get("columns"))
    elif fmt in _SPLIT_FORMATS:
        problems += _xsv_column_problems(entry)
        for key in ("newline", "separator"):
            value = entry.get(key, "\n")
            if not isinstance(value, str) or not value:
                problems.append(f"{key!r} must be a non-empty string, got {_short(value)}")
    size_limit = entry.get("size_limit")
    if size_limit is not None and not _is_count(size_limit):
        problems.append(f"'size_limit' must be null or a byte count, got {_short(size_limit)}")
    return problems


def _file_problems(entry: dict, fmt: Any, samples: int | None) -> list[str]:
    from streaming.format.hashing import is_hash

    problems = []
    needed = {"raw_data"} | ({"raw_meta"} if fmt in _SPLIT_FORMATS else set())
    for key in _FILE_KEYS:
        info = entry.get(key)
        if info is None:
            if key in needed:
                problems.append(f"missing {key!r}")
            continue
        if not isinstance(info, dict):
            problems.append(f"{key!r} must be an object, got {_short(info)}")
            continue
        basename = info.get("basename")
        if not _is_inside(basename):
            problems.append(f"{key}.basename {_short(basename)} is not a relative path inside "
                            "the dataset")  # fmt: skip
        elif os.path.normpath(basename) == "index.json":
            problems.append(f"{key}.basename {basename!r} names the dataset's own index.json")
        size = info.get("bytes")
        if not _is_count(size):
            problems.append(f"{key}.bytes must be a non-negative integer, got {_short(size)}")
        elif key.startswith("raw_") and size > MAX_RAW_BYTES:
            problems.append(
                f"{key}.bytes is {size:,}: more than a shard file can hold (its offsets are "
                f"uint32, so at most {MAX_RAW_BYTES:,} bytes)"
            )
        elif key == "raw_data" and fmt == "mds" and samples is not None:
            if size < 4 * (samples + 2):
                problems.append(
                    f"raw_data.bytes is {size:,}, too small for the header of {samples:,} "
                    f"samples ({4 * (samples + 2):,} bytes)"
                )
        hashes = info.get("hashes", {})
        if not isinstance(hashes, dict):
            problems.append(f"{key}.hashes must be an object of algorithm to digest")
            continue
        for algo, digest in hashes.items():
            if not is_hash(algo):
                problems.append(f"{key}.hashes names an unknown hash algorithm {algo!r}")
            if not isinstance(digest, str):
                problems.append(f"{key}.hashes[{algo!r}] must be a hex string, got "
                                f"{_short(digest)}")  # fmt: skip
    return problems


def _compression_problems(entry: dict) -> list[str]:
    from streaming.format.compression import is_compression

    compression = entry.get("compression")
    if compression is not None and (
        not isinstance(compression, str) or not is_compression(compression)
    ):
        return [
            f"unknown 'compression' {_short(compression)}: expected null or one of br, bz2, gz, "
            "snappy, zstd, optionally with a level such as 'zstd:7'"
        ]
    if (compression is None) != (entry.get("zip_data") is None):
        return ["'zip_data' must be given exactly when 'compression' is set"]
    return []


def _hash_list_problems(hashes: Any) -> list[str]:
    from streaming.format.hashing import is_hash

    if not isinstance(hashes, list) or not all(isinstance(h, str) for h in hashes):
        return [f"'hashes' must be a list of algorithm names, got {_short(hashes)}"]
    return [f"'hashes' names an unknown hash algorithm {h!r}" for h in hashes if not is_hash(h)]


def _lists(entry: dict, keys: tuple[str, ...]) -> tuple[list[str], list[list] | None]:
    problems = []
    for key in keys:
        if not isinstance(entry.get(key), list):
            problems.append(f"{key!r} must be a list, got {_short(entry.get(key))}")
    if problems:
        return problems, None
    lists = [entry[k] for k in keys]
    if len({len(v) for v in lists}) != 1:
        lengths = ", ".join(f"{k} {len(v)}" for k, v in zip(keys, lists, strict=True))
        return [f"{', '.join(keys)} must have the same length (got {lengths})"], None
    return [], lists


def _name_problems(names: list[Any]) -> list[str]:
    problems = [f"column names must be strings, got {_short(n)}" for n in names
                if not isinstance(n, str)]  # fmt: skip
    counts = Counter(n for n in names if isinstance(n, str))
    return problems + [f"column {n!r} is named {c} times" for n, c in counts.items() if c > 1]


def _mds_column_problems(entry: dict) -> list[str]:
    from streaming.format.mds.encodings import get_coder, is_mds_encoding

    problems, lists = _lists(entry, ("column_names", "column_encodings", "column_sizes"))
    if lists is None:
        return problems
    names, encodings, sizes = lists
    problems += _name_problems(names)
    for name, enc, size in zip(names, encodings, sizes, strict=True):
        col = f"column {name!r}"
        if size is not None and not _is_uint32(size):
            problems.append(f"{col}: size must be an integer from 0 to 2**32 - 1 or null, got "
                            f"{_short(size)}")  # fmt: skip
            size = None
        if not isinstance(enc, str) or not is_mds_encoding(enc):
            problems.append(f"{col} has an unknown encoding {_short(enc)}")
            continue
        fixed = get_coder(enc).size
        if fixed is not None and size != fixed:
            recorded = "no size" if size is None else f"size {size}"
            problems.append(f"{col} records {recorded} in column_sizes, but {enc!r} is "
                            f"{fixed} bytes")  # fmt: skip
        elif fixed is None and size is not None:
            problems.append(f"{col} records size {size} in column_sizes, but {enc!r} has no "
                            "fixed size (expected null)")  # fmt: skip
    return problems


def _json_column_problems(columns: Any) -> list[str]:
    from streaming.format.split import is_json_encoding

    if not isinstance(columns, dict):
        return [f"a json shard needs a 'columns' object of name to type, got {_short(columns)}"]
    return [f"column {n!r} has an unknown JSON type {_short(t)}" for n, t in columns.items()
            if not isinstance(t, str) or not is_json_encoding(t)]  # fmt: skip


def _xsv_column_problems(entry: dict) -> list[str]:
    from streaming.format.split import is_xsv_encoding

    problems, lists = _lists(entry, ("column_names", "column_encodings"))
    if lists is None:
        return problems
    names, encodings = lists
    problems += _name_problems(names)
    return problems + [
        f"column {n!r} has an unknown encoding {_short(e)}"
        for n, e in zip(names, encodings, strict=True)
        if not isinstance(e, str) or not is_xsv_encoding(e)
    ]


def _is_inside(name: Any) -> bool:
    if not isinstance(name, str) or not name or "\\" in name or os.path.isabs(name):
        return False
    norm = os.path.normpath(name)
    if norm in (".", "..") or norm.startswith("../"):
        return False
    try:
        return b"\0" not in os.fsencode(name)
    except UnicodeEncodeError:
        return False


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def _is_uint32(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < _UINT32


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
