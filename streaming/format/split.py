"""The "split" formats: JSON lines, CSV, TSV and any-separator XSV.

Each shard is a data file of text lines plus a ``.meta`` file:
``uint32 num_samples | uint32 offsets[num_samples + 1] | config JSON``. JSON offsets count from
the start of the data file (the first is 0); XSV offsets are absolute, after a header line of
the sorted column names.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from streaming.format import writer as _writer
from streaming.format.errors import ColumnError, EncodingError, ShardTooLargeError, where
from streaming.format.writer import Writer

_TEXT_TYPES = {"str": (str,), "int": (int,), "float": (float,)}
_XSV_TYPES = {"str": (str,), "int": (int,), "float": (float, int)}


def is_json_encoding(encoding: str) -> bool:
    """Whether `encoding` is a JSON column type: ``str``, ``int`` or ``float``."""
    return encoding in _TEXT_TYPES


def is_xsv_encoding(encoding: str) -> bool:
    """Whether `encoding` is an XSV column type: ``str``, ``int`` or ``float``."""
    return encoding in _XSV_TYPES


def xsv_decode(encoding: str, text: str) -> Any:
    """Turn one XSV field back into its value."""
    if encoding == "int":
        return int(text)
    if encoding == "float":
        return float(text)
    return text


class _SplitWriter(Writer):
    def _meta(self, sizes: list[int], first_offset: int) -> bytes:
        offsets = np.zeros(len(sizes) + 1, np.int64)
        if sizes:
            np.cumsum(np.asarray(sizes, np.int64), out=offsets[1:])
        offsets += first_offset
        if offsets[-1] > _writer.MAX_SHARD_BYTES:  # guarded in write(); a last line of defence
            raise ShardTooLargeError(
                f"{self.format} shard of {offsets[-1]} bytes passes the 4 GiB limit of its "
                "32-bit offsets"
            )
        config = json.dumps(self.get_config(), sort_keys=True).encode("utf-8")
        return np.uint32(len(sizes)).tobytes() + offsets.astype("<u4").tobytes() + config

    def _location(self, column: str | None = None) -> str:
        shard = self.shard_index
        return where(
            file=f"{self.local}/shard.{shard:05}.{self.format}",
            shard=shard,
            column=column,
            sample=self.samples_written,
        )

    def _check_columns(self, sample: Any, names: list[str]) -> None:
        if not isinstance(sample, dict):
            raise ColumnError(
                f"A sample must be a dict of column to value, got {type(sample).__name__} "
                f"({self._location()})"
            )
        if len(sample) != len(names) or any(name not in sample for name in names):
            missing = sorted(set(names) - set(sample))
            extra = sorted(map(str, set(sample) - set(names)))
            raise ColumnError(
                f"Sample does not match the writer's columns ({self._location()}): missing "
                f"{missing}, unexpected {extra}; expected exactly {sorted(names)}"
            )

    def _check_type(self, name: str, encoding: str, value: Any, types: dict) -> None:
        if not isinstance(value, types[encoding]) or isinstance(value, bool):
            raise EncodingError(
                f"Column {name!r} is {encoding!r}, but the value is a {type(value).__name__} "
                f"({self._location(name)})"
            )


class JSONWriter(_SplitWriter):
    """Write JSON-lines shards: one ``json.dumps(sample, sort_keys=True)`` per line.

    Args:
        columns: column name to type, each ``"str"``, ``"int"`` or ``"float"``.
        out, compression, hashes, size_limit, **kwargs: as for `MDSWriter`.
        newline: the line terminator.
    """

    format = "json"

    def __init__(
        self,
        *,
        columns: dict[str, str],
        out: str | tuple[str, str],
        compression: str | None = None,
        hashes: list[str] | None = None,
        size_limit: int | str | None = 1 << 26,
        newline: str = "\n",
        **kwargs: Any,
    ) -> None:
        for name, encoding in columns.items():
            if not is_json_encoding(encoding):
                raise EncodingError(
                    f"Unsupported encoding {encoding!r} for JSON column {name!r}: expected str, "
                    "int or float"
                )
        self.columns = dict(columns)
        self.newline = newline
        super().__init__(
            out=out, compression=compression, hashes=hashes, size_limit=size_limit, **kwargs
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"columns": self.columns, "newline": self.newline})
        return config

    def encode_sample(self, sample: dict[str, Any]) -> bytes:
        self._check_columns(sample, list(self.columns))
        for name, encoding in self.columns.items():
            self._check_type(name, encoding, sample[name], _TEXT_TYPES)
        obj = {name: sample[name] for name in self.columns}
        return (json.dumps(obj, sort_keys=True) + self.newline).encode("utf-8")

    def shard_files(self, chunks: list[bytes], sizes: list[int]) -> list[tuple[str, list[bytes]]]:
        return [("data", chunks), ("meta", [self._meta(sizes, 0)])]


class XSVWriter(_SplitWriter):
    """Write separated-value shards with any separator; no quoting, so values may not contain it.

    Args:
        columns: column name to type, each ``"str"``, ``"int"`` or ``"float"``.
        separator: the field separator.
        out, compression, hashes, size_limit, **kwargs: as for `MDSWriter`.
        newline: the line terminator.
    """

    format = "xsv"

    def __init__(
        self,
        *,
        columns: dict[str, str],
        separator: str,
        out: str | tuple[str, str],
        compression: str | None = None,
        hashes: list[str] | None = None,
        size_limit: int | str | None = 1 << 26,
        newline: str = "\n",
        **kwargs: Any,
    ) -> None:
        if not separator or not newline:
            raise ValueError("separator and newline must be non-empty strings")
        self.column_names = sorted(columns)
        self.column_encodings = [columns[name] for name in self.column_names]
        for name, encoding in zip(self.column_names, self.column_encodings, strict=True):
            if not is_xsv_encoding(encoding):
                raise EncodingError(
                    f"Unsupported encoding {encoding!r} for {self.format.upper()} column "
                    f"{name!r}: expected str, int or float"
                )
            if separator in name or newline in name:
                raise ValueError(
                    f"Column name {name!r} contains the separator {separator!r} or the newline"
                )
        self.separator = separator
        self.newline = newline
        self._uncounted_bytes = len((separator.join(self.column_names) + newline).encode("utf-8"))
        super().__init__(
            out=out, compression=compression, hashes=hashes, size_limit=size_limit, **kwargs
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "column_names": self.column_names,
                "column_encodings": self.column_encodings,
                "separator": self.separator,
                "newline": self.newline,
            }
        )
        return config

    def encode_sample(self, sample: dict[str, Any]) -> bytes:
        self._check_columns(sample, self.column_names)
        fields = []
        for name, encoding in zip(self.column_names, self.column_encodings, strict=True):
            value = sample[name]
            self._check_type(name, encoding, value, _XSV_TYPES)
            text = value if encoding == "str" else str(value)
            if self.separator in text or self.newline in text:
                raise EncodingError(
                    f"Value {text[:50]!r} contains the separator {self.separator!r} or the "
                    f"newline, which {self.format.upper()} cannot escape ({self._location(name)})"
                )
            fields.append(text)
        return (self.separator.join(fields) + self.newline).encode("utf-8")

    def shard_files(self, chunks: list[bytes], sizes: list[int]) -> list[tuple[str, list[bytes]]]:
        header = (self.separator.join(self.column_names) + self.newline).encode("utf-8")
        return [("data", [header, *chunks]), ("meta", [self._meta(sizes, len(header))])]


class _FixedSeparatorWriter(XSVWriter):
    """An `XSVWriter` whose separator is implied by its format, so the index omits it."""

    fixed_separator = ""

    def __init__(self, *, columns: dict[str, str], out: str | tuple[str, str], **kwargs: Any):
        super().__init__(columns=columns, separator=self.fixed_separator, out=out, **kwargs)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["separator"]
        return config


class CSVWriter(_FixedSeparatorWriter):
    """Write comma-separated shards (`XSVWriter` with ``separator=","``)."""

    format = "csv"
    fixed_separator = ","


class TSVWriter(_FixedSeparatorWriter):
    """Write tab-separated shards (`XSVWriter` with ``separator="\\t"``)."""

    format = "tsv"
    fixed_separator = "\t"
