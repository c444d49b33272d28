"""LAION-400M as downloaded by img2dataset (from the LAION metadata parquet: url, caption...).

img2dataset writes numbered shards into one folder, in one of three layouts:

* ``webdataset``: ``00000.tar`` holding ``000000000.jpg``, ``000000000.txt`` (the caption) and
  ``000000000.json`` (url, caption, key, status, sizes, exif and the parquet's extra columns
  such as NSFW, similarity and LICENSE) per image;
* ``files``: the same three files per image in a folder ``00000/``;
* ``parquet``: ``00000.parquet`` with those fields as columns and the image in ``jpg``
  (reading it needs pyarrow: ``pip install 'openstreaming[laion]'``).

Only downloaded images are written. Columns are mosaicml-streaming's LAION converter's (``nsfw``,
``similarity``, ``license``, ``caption``, ``url``, ``key``, ``status``, ``error_message``,
``width``, ``height``, ``original_width``, ``original_height``, ``exif``, ``jpg``), with ``jpg``
encoded as ``jpeg`` (the peer says ``bytes``; the stored bytes are the same JPEG). One part per
img2dataset shard.
"""

from __future__ import annotations

import json
import os
import re
import tarfile
from collections.abc import Iterator
from typing import Any

from streaming.datasets.convert.base import Converter, Part, RawDataError, want
from streaming.datasets.convert.sources import find, image_bytes, read_bytes

_STR = ("nsfw", "license", "caption", "url", "key", "status", "error_message", "exif")
_INT = ("width", "height", "original_width", "original_height")
_SOURCE = {"nsfw": "NSFW", "license": "LICENSE"}  # img2dataset's names, where they differ
_SHARD = re.compile(r"^\d+$")
_IMAGE_EXT = (".jpg", ".jpeg", ".png", ".webp")


class LAIONConverter(Converter):
    """img2dataset's LAION shards to MDS, one sample per downloaded image."""

    name = "laion"
    summary = "LAION-400M as downloaded by img2dataset (tar, folder or parquet shards)"
    layout = "img2dataset output: 00000.tar (or folder 00000/, or 00000.parquet with jpg), ..."

    @property
    def columns(self) -> dict[str, str]:
        return {
            **{k: "str" for k in _STR},
            "similarity": "float64",
            **{k: "int32" for k in _INT},
            "jpg": "jpeg",
        }

    def plan(self, raw: str, splits: list[str] | None = None) -> list[Part]:
        if not want("train", splits):
            raise RawDataError("LAION has one split, train")
        shards: dict[str, tuple[str, str]] = {}
        for path in find(raw, "*.tar"):
            shards[_stem(path)] = ("tar", path)
        for path in find(raw, "*"):
            if os.path.isdir(path) and _SHARD.match(os.path.basename(path)):
                shards.setdefault(os.path.basename(path), ("files", path))
        if not shards:
            for path in find(raw, "*.parquet"):
                shards[_stem(path)] = ("parquet", path)
        if not shards:
            raise RawDataError(f"No img2dataset shards in {raw!r}; expected {self.layout}")
        parts = []
        for k, stem in enumerate(sorted(shards)):
            kind, path = shards[stem]
            parts.append(Part("train", k, path, (kind, path), _successes(raw, stem)))
        return parts

    def read_part(self, part: Part) -> Iterator[dict[str, Any]]:
        kind, path = part.payload
        records = {"tar": _tar_records, "files": _folder_records, "parquet": _parquet_records}
        for where, image, caption, meta in records[kind](path):
            yield _sample(where, image, caption, meta)


def _stem(path: str) -> str:
    return os.path.basename(path).split(".")[0]


def _successes(raw: str, stem: str) -> int | None:
    try:
        with open(os.path.join(raw, f"{stem}_stats.json")) as f:
            return int(json.load(f)["successes"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _sample(where: str, image: bytes, caption: str | None, meta: dict[str, Any]) -> dict:
    sample: dict[str, Any] = {}
    for key in _STR:
        value = meta.get(_SOURCE.get(key, key))
        sample[key] = "" if value is None else str(value)
    if caption is not None:
        sample["caption"] = caption
    try:
        sample["similarity"] = float(meta.get("similarity") or 0.0)
        for key in _INT:
            sample[key] = int(meta.get(key) or 0)
    except (TypeError, ValueError) as err:
        raise RawDataError(f"{where}: malformed metadata ({err})") from None
    sample["jpg"] = image_bytes(image, where)
    return sample


def _group(names: list[str]) -> dict[str, dict[str, str]]:
    """Member names grouped by sample key, then by extension."""
    groups: dict[str, dict[str, str]] = {}
    for name in names:
        base = os.path.basename(name)
        key, dot, ext = base.partition(".")
        if dot:
            groups.setdefault(key, {})[ext.lower()] = name
    return groups


def _parse_meta(data: bytes | None, where: str) -> dict[str, Any]:
    if data is None:
        return {}
    try:
        meta = json.loads(data)
    except ValueError as err:
        raise RawDataError(f"{where}: not valid JSON ({err})") from None
    if not isinstance(meta, dict):
        raise RawDataError(f"{where}: expected a JSON object")
    return meta


def _image_ext(exts: dict[str, str]) -> str | None:
    return next((e for e in ("jpg", "jpeg", "png", "webp") if e in exts), None)


def _tar_records(path: str) -> Iterator[tuple[str, bytes, str | None, dict]]:
    try:
        with tarfile.open(path) as tar:
            members = {m.name: m for m in tar.getmembers() if m.isfile()}
            for key, exts in sorted(_group(list(members)).items()):
                ext = _image_ext(exts)
                if ext is None:
                    continue
                where = f"{path!r}, member {exts[ext]!r}"

                def read(name: str | None) -> bytes | None:
                    f = tar.extractfile(members[name]) if name else None
                    return f.read() if f else None

                image = read(exts[ext])
                text = read(exts.get("txt"))
                meta = _parse_meta(read(exts.get("json")), f"{path!r}, member {key}.json")
                yield where, image or b"", None if text is None else text.decode("utf-8"), meta
    except (tarfile.TarError, OSError, EOFError) as err:
        raise RawDataError(f"{path!r} is not a readable tar ({err})") from None


def _folder_records(path: str) -> Iterator[tuple[str, bytes, str | None, dict]]:
    for _key, exts in sorted(_group(os.listdir(path)).items()):
        ext = _image_ext(exts)
        if ext is None:
            continue
        image_path = os.path.join(path, exts[ext])
        text = exts.get("txt")
        meta = exts.get("json")
        caption = read_bytes(os.path.join(path, text)).decode("utf-8") if text else None
        meta_path = os.path.join(path, meta) if meta else None
        yield (
            repr(image_path),
            read_bytes(image_path),
            caption,
            _parse_meta(read_bytes(meta_path) if meta_path else None, repr(meta_path)),
        )


def _parquet_records(path: str) -> Iterator[tuple[str, bytes, str | None, dict]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError(
            f"Reading {path!r} needs pyarrow: pip install 'openstreaming[laion]'"
        ) from None
    try:
        rows = pq.ParquetFile(path)
        if "jpg" not in rows.schema_arrow.names:
            raise RawDataError(f"{path!r} has no 'jpg' column: it is metadata, not images")
        row = 0
        for batch in rows.iter_batches():
            for meta in batch.to_pylist():
                row += 1
                image = meta.pop("jpg")
                if image and meta.get("status", "success") == "success":
                    yield f"{path!r}, row {row - 1}", image, None, meta
    except RawDataError:
        raise
    except Exception as err:  # pyarrow raises its own error types
        raise RawDataError(f"{path!r} is not a readable parquet file ({err})") from None
