"""Reading raw files the way the converters need them: compressed text, JSON lines, images.

Every failure becomes a `RawDataError` that names the file (and the line, for text).
"""

from __future__ import annotations

import bz2
import glob
import gzip
import io
import json
import os
from collections.abc import Iterator
from typing import IO, Any

from streaming.datasets.convert.base import RawDataError


def open_text(path: str) -> IO[str]:
    """Open a text file for reading, decompressing ``.gz``, ``.bz2`` and ``.zst`` by extension."""
    try:
        if path.endswith(".gz"):
            return gzip.open(path, "rt", encoding="utf-8")
        if path.endswith(".bz2"):
            return bz2.open(path, "rt", encoding="utf-8")
        if path.endswith(".zst"):
            import zstandard

            raw = open(path, "rb")
            reader = zstandard.ZstdDecompressor(max_window_size=2**31).stream_reader(
                raw, closefd=True
            )
            return io.TextIOWrapper(reader, encoding="utf-8")
        return open(path, encoding="utf-8")
    except OSError as err:
        raise RawDataError(f"Cannot open {path!r}: {err}") from err


def iter_lines(path: str) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, line)`` of a possibly compressed text file, without the newline."""
    try:
        with open_text(path) as f:
            for lineno, line in enumerate(f, 1):
                yield lineno, line.rstrip("\n")
    except RawDataError:
        raise
    except (OSError, EOFError, UnicodeDecodeError, ValueError) as err:
        # gzip/bz2/zstd raise OSError, EOFError or ZstdError (a ValueError) on bad bytes.
        raise RawDataError(f"Cannot read {path!r}: {type(err).__name__}: {err}") from err


def iter_json_lines(path: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, object)`` for each non-empty line of a JSON-lines file."""
    for lineno, line in iter_lines(path):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as err:
            raise RawDataError(f"{path!r}, line {lineno}: not valid JSON ({err})") from None
        if not isinstance(obj, dict):
            raise RawDataError(f"{path!r}, line {lineno}: expected a JSON object")
        yield lineno, obj


def require(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """``obj[key]``, which must be of `kind`; otherwise a `RawDataError` naming `where`."""
    value = obj.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        names = " or ".join(k.__name__ for k in kinds)
        got = "missing" if key not in obj else type(value).__name__
        raise RawDataError(f"{where}: expected {key!r} to be {names}, got {got}")
    return value


def find(root: str, pattern: str) -> list[str]:
    """Files under `root` matching the glob `pattern` (which may use ``**``), sorted."""
    return sorted(glob.glob(os.path.join(root, pattern), recursive=True))


def read_bytes(path: str) -> bytes:
    """The bytes of a raw file; a missing or unreadable file raises `RawDataError`."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as err:
        raise RawDataError(f"Cannot read {path!r}: {err}") from err


def image_bytes(data: bytes, where: str, fmt: str = "JPEG") -> bytes:
    """Check that `data` is an image and return it encoded as `fmt` (``JPEG`` or ``PNG``).

    Bytes already in `fmt` are kept as they are. Others are re-encoded: ImageNet has a PNG and
    CMYK JPEGs named ``.JPEG``, which GPU JPEG decoders refuse.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise RawDataError(f"{where} is not an image ({err})") from None
    if img.format == fmt and (fmt != "JPEG" or img.mode in ("RGB", "L")):
        return data
    try:
        if fmt == "JPEG" and img.mode not in ("RGB", "L"):
            img = img.convert("RGB")
        out = io.BytesIO()
        img.save(out, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    except (OSError, ValueError) as err:
        raise RawDataError(f"{where} is not a readable image ({err})") from None
    return out.getvalue()
