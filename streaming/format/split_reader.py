"""Reading JSON-lines and CSV/TSV/XSV shards: a data file plus a `.meta` file of offsets."""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np

from streaming.format.errors import EncodingError, ShardFormatError
from streaming.format.shard import Shard
from streaming.format.split import is_json_encoding, is_xsv_encoding, xsv_decode

_PAIR = struct.Struct("<II")
_UINT32 = struct.Struct("<I")


class _SplitShard(Shard):
    def _check(self, buf: Any, role: str) -> None:
        if role != "raw_meta":
            return
        n = self.samples
        if len(buf) < 4 * (n + 2):
            raise ShardFormatError(
                f"Meta file is {len(buf)} bytes, too short for {n} samples "
                f"({self.where(role='raw_meta')}): it is truncated"
            )
        (stored,) = _UINT32.unpack_from(buf, 0)
        if stored != n:
            raise ShardFormatError(
                f"Meta file says {stored} samples, but index.json says {n} "
                f"({self.where(role='raw_meta')})"
            )
        offsets = np.frombuffer(buf, "<u4", n + 1, 4).astype(np.int64)
        size = self.entry["raw_data"]["bytes"]
        bad = np.flatnonzero((np.diff(offsets) < 0) | (offsets[1:] > size))
        if offsets[0] > size or len(bad):
            sample = int(bad[0]) if offsets[0] <= size else 0
            raise ShardFormatError(
                f"Sample offsets fall outside the {size}-byte data file at sample {sample} "
                f"({self.where(sample, role='raw_meta')}): expected offsets that rise from 0 "
                "to the data file's size; the meta file is truncated or corrupt"
            )

    def get_sample_data(self, idx: int) -> bytes:
        """The stored text bytes of sample `idx`."""
        meta = self.buffer("raw_meta")
        data = self.buffer("raw_data")
        begin, end = _PAIR.unpack_from(meta, 4 + 4 * idx)
        return data[begin:end]


class JSONShard(_SplitShard):
    """A JSON-lines shard: each sample is one JSON object on its own line."""

    def __init__(self, dirname: str, entry: dict[str, Any], shard_id: int, **kwargs: Any) -> None:
        super().__init__(dirname, entry, shard_id, kwargs.get("validate_hash"))
        self._kwargs = dict(kwargs)
        for name, encoding in entry["columns"].items():
            if not is_json_encoding(encoding):
                raise EncodingError(
                    f"Unknown JSON column type {encoding!r} for column {name!r} in shard "
                    f"{shard_id} of {kwargs.get('index_path', 'index.json')!r}"
                )

    def get_item(self, idx: int) -> dict[str, Any]:
        text = self.get_sample_data(idx)
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError) as err:  # bad UTF-8 or JSON, too deep, too many digits
            raise ShardFormatError(f"Sample is not valid JSON ({self.where(idx)}): {err}") from None
        if not isinstance(obj, dict):
            raise ShardFormatError(f"Sample is not a JSON object ({self.where(idx)})")
        return obj


class XSVShard(_SplitShard):
    """A CSV, TSV or XSV shard: a header line, then one separated line per sample."""

    def __init__(self, dirname: str, entry: dict[str, Any], shard_id: int, **kwargs: Any) -> None:
        super().__init__(dirname, entry, shard_id, kwargs.get("validate_hash"))
        self._kwargs = dict(kwargs)
        self.separator = {"csv": ",", "tsv": "\t"}.get(entry["format"]) or entry.get("separator")
        self.newline = entry.get("newline", "\n")
        if not isinstance(self.separator, str) or not self.separator:
            raise ShardFormatError(
                f"Shard {shard_id} of format {entry['format']!r} has no separator in "
                f"{kwargs.get('index_path', 'index.json')!r}"
            )
        for name, encoding in zip(entry["column_names"], entry["column_encodings"], strict=False):
            if not is_xsv_encoding(encoding):
                raise EncodingError(
                    f"Unknown column type {encoding!r} for column {name!r} in shard {shard_id} "
                    f"of {kwargs.get('index_path', 'index.json')!r}"
                )
        self._columns = list(zip(entry["column_names"], entry["column_encodings"], strict=False))

    def get_item(self, idx: int) -> dict[str, Any]:
        raw = self.get_sample_data(idx)
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as err:
            raise ShardFormatError(f"Sample is not UTF-8 ({self.where(idx)}): {err}") from None
        if text.endswith(self.newline):
            text = text[: -len(self.newline)]
        fields = text.split(self.separator)
        if len(fields) != len(self._columns):
            raise ShardFormatError(
                f"Sample has {len(fields)} fields, expected {len(self._columns)} "
                f"({self.where(idx)})"
            )
        out = {}
        for (name, encoding), field in zip(self._columns, fields, strict=True):
            try:
                out[name] = xsv_decode(encoding, field)
            except ValueError:
                raise ShardFormatError(
                    f"Field {field[:50]!r} is not a valid {encoding} (column {name!r}, "
                    f"{self.where(idx)})"
                ) from None
        return out
