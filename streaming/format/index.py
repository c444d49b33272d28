"""`index.json` version 2: reading it with clear errors, and writing it as mosaicml-streaming does.

The writer's index is ``json.dump({"version": 2, "shards": [...]}, sort_keys=True)`` with default
separators and no trailing newline; `merge_index` writes the same without `sort_keys`.
"""

from __future__ import annotations

import json
import os
from typing import Any

from streaming.format.compression import is_compression
from streaming.format.errors import IndexFormatError, IndexJSONError
from streaming.format.files import write_atomic

INDEX_BASENAME = "index.json"

#: The most bytes a shard file may declare: offsets are uint32 (MDS, and the split formats' meta).
#: A compressed file may be slightly larger than its raw form, so it gets a little more room.
MAX_FILE_BYTES = 2**32 - 1
_MAX_ZIP_BYTES = 2**32 + (1 << 24)

_FORMATS = {"mds", "json", "csv", "tsv", "xsv"}
_SPLIT_FORMATS = {"json", "csv", "tsv", "xsv"}


def get_index_basename() -> str:
    """The file name of a dataset's index: ``index.json``."""
    return INDEX_BASENAME


def dump_index(shards: list[dict[str, Any]], sort_keys: bool = True) -> bytes:
    """Serialise an index exactly as the peer does."""
    return json.dumps({"version": 2, "shards": shards}, sort_keys=sort_keys).encode("utf-8")


def write_index(path: str, shards: list[dict[str, Any]], sort_keys: bool = True) -> None:
    """Write `index.json` atomically (temporary name, then rename)."""
    write_atomic(path, [dump_index(shards, sort_keys)])


def read_index(path: str) -> dict[str, Any]:
    """Read and validate an `index.json`; each problem raises `IndexFormatError` naming the file."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"No index at {path!r}: a dataset directory holds index.json"
        ) from None
    return parse_index(raw, path)


def parse_index(raw: bytes, path: str) -> dict[str, Any]:
    """Validate the bytes of an index read from `path` (used only in messages)."""
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError) as err:  # also bad UTF-8, too deep, too many digits
        what = "it is empty" if not raw.strip() else f"not valid JSON ({err})"
        doc, pos = (err.doc, err.pos) if isinstance(err, json.JSONDecodeError) else ("", 0)
        raise IndexJSONError(f"Malformed index {path!r}: {what}", doc, pos) from None
    if not isinstance(obj, dict):
        raise IndexFormatError(f"Malformed index {path!r}: expected a JSON object at the top")
    version = obj.get("version")
    if version != 2:
        raise IndexFormatError(
            f"Unsupported index version {version!r} in {path!r}: only version 2 is supported"
        )
    shards = obj.get("shards")
    if not isinstance(shards, list):
        raise IndexFormatError(f"Malformed index {path!r}: 'shards' must be a list")
    for i, shard in enumerate(shards):
        validate_shard(shard, i, path)
    return obj


def _fail(path: str, i: int, what: str) -> IndexFormatError:
    return IndexFormatError(f"Malformed index {path!r}, shard {i}: {what}")


def validate_shard(shard: Any, i: int, path: str) -> None:
    """Check one index entry as a whole; the first problem raises, naming shard `i`."""
    if not isinstance(shard, dict):
        raise _fail(path, i, "expected a JSON object")
    if shard.get("version") != 2:
        raise IndexFormatError(
            f"Unsupported shard version {shard.get('version')!r} in {path!r}, shard {i}: "
            "only version 2 is supported"
        )
    fmt = shard.get("format")
    if not isinstance(fmt, str) or fmt not in _FORMATS:
        raise _fail(path, i, f"unknown format {fmt!r}, expected one of {sorted(_FORMATS)}")
    samples = shard.get("samples")
    if not _is_uint32(samples):
        raise _fail(path, i, f"'samples' must be an integer from 0 to 2**32 - 1, got {samples!r}")
    _validate_file(shard.get("raw_data"), "raw_data", i, path, required=True)
    _validate_file(shard.get("zip_data"), "zip_data", i, path, required=False)
    compression = shard.get("compression")
    if compression is not None and (
        not isinstance(compression, str) or not is_compression(compression)
    ):
        raise _fail(
            path,
            i,
            f"unknown 'compression' {compression!r}: expected null or one of br, bz2, gz, "
            "snappy, zstd, optionally with a level such as 'zstd:7'",
        )
    if (compression is None) != (shard.get("zip_data") is None):
        raise _fail(path, i, "'zip_data' must be given exactly when 'compression' is set")
    hashes = shard.get("hashes", [])
    if not isinstance(hashes, list) or not all(isinstance(h, str) for h in hashes):
        raise _fail(path, i, f"'hashes' must be a list of strings, got {hashes!r}")
    validate_layout(shard, i, path)
    if fmt in _SPLIT_FORMATS:
        _validate_file(shard.get("raw_meta"), "raw_meta", i, path, required=True)
        _validate_file(shard.get("zip_meta"), "zip_meta", i, path, required=False)


def validate_layout(shard: dict, i: int, path: str) -> None:
    """The checks of a shard's columns, newline and separator (which depend on its format)."""
    fmt = shard.get("format")
    if fmt == "mds":
        _validate_columns(shard, i, path, ("column_names", "column_encodings", "column_sizes"))
    elif fmt == "json":
        columns = shard.get("columns")
        if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
            raise _fail(path, i, "a json shard needs a 'columns' object of column name to type")
    else:
        _validate_columns(shard, i, path, ("column_names", "column_encodings"))
    for key in ("newline", "separator"):
        value = shard.get(key, "\n")
        if not isinstance(value, str) or not value:
            raise _fail(path, i, f"{key!r} must be a non-empty string, got {value!r}")


def _validate_columns(shard: dict, i: int, path: str, keys: tuple[str, ...]) -> None:
    lengths = set()
    for key in keys:
        value = shard.get(key)
        if not isinstance(value, list):
            raise _fail(path, i, f"{key!r} must be a list, got {value!r}")
        lengths.add(len(value))
    if len(lengths) != 1:
        raise _fail(path, i, f"{', '.join(keys)} must have the same length")
    seen = set()
    for name in shard["column_names"]:
        if not isinstance(name, str):
            raise _fail(path, i, f"column names must be strings, got {name!r}")
        if name in seen:
            raise _fail(path, i, f"column {name!r} appears twice in 'column_names'")
        seen.add(name)
    for enc in shard["column_encodings"]:
        if not isinstance(enc, str):
            raise _fail(path, i, f"column encodings must be strings, got {enc!r}")
    for size in shard.get("column_sizes", []):
        if size is not None and not _is_uint32(size):
            raise _fail(
                path, i, f"column sizes must be integers from 0 to 2**32 - 1 or null, got {size!r}"
            )


def _validate_file(info: Any, key: str, i: int, path: str, required: bool) -> None:
    if info is None:
        if required:
            raise _fail(path, i, f"missing {key!r}")
        return
    if not isinstance(info, dict):
        raise _fail(path, i, f"{key!r} must be an object")
    basename = info.get("basename")
    if not isinstance(basename, str) or not basename:
        raise _fail(path, i, f"{key}.basename must be a non-empty string")
    norm = os.path.normpath(basename)
    escapes = norm == ".." or norm.startswith("../") or norm == "."
    if os.path.isabs(basename) or escapes or "\\" in basename or not _is_path(basename):
        raise _fail(
            path, i, f"{key}.basename {basename!r} must be a relative path inside the dataset"
        )
    if norm == INDEX_BASENAME or norm.split("/")[0] == ".streaming":
        raise _fail(
            path, i, f"{key}.basename {basename!r} names the index or the cache's records, not a "
            "shard file"
        )  # fmt: skip
    size = info.get("bytes")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size:
        raise _fail(path, i, f"{key}.bytes must be a non-negative integer, got {size!r}")
    limit = _MAX_ZIP_BYTES if key.startswith("zip_") else MAX_FILE_BYTES
    if size > limit:
        raise _fail(
            path, i, f"{key}.bytes is {size}, past the {limit}-byte limit of a shard file "
            "(MDS offsets are 32-bit, so no shard reaches 4 GiB)"
        )  # fmt: skip
    hashes = info.get("hashes", {})
    if not isinstance(hashes, dict) or not all(isinstance(h, str) for h in hashes.values()):
        raise _fail(path, i, f"{key}.hashes must be an object of algorithm to hex digest")


def _is_path(name: str) -> bool:
    """Whether the OS can take `name` as a file name (no NUL, encodable)."""
    try:
        return b"\0" not in os.fsencode(name)
    except UnicodeEncodeError:
        return False


def _is_uint32(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**32
