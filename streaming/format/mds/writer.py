"""`MDSWriter`: samples as rows of typed columns, one binary file per shard.

Shard layout (all integers little-endian uint32)::

    num_samples | offsets[num_samples + 1] | config JSON | sample 0 | sample 1 | ...

and each sample is the uint32 sizes of its variable-size columns followed by every column's
encoded bytes, in sorted column-name order.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np

from streaming.format import writer as _writer
from streaming.format.errors import ColumnError, EncodingError, ShardTooLargeError, where
from streaming.format.mds.encodings import get_coder, get_mds_encodings, is_mds_encoding
from streaming.format.writer import Writer


class MDSWriter(Writer):
    """Write a dataset in MDS, mosaicml-streaming's format, byte for byte as it does.

    Args:
        columns: column name to encoding, e.g. ``{"tokens": "bytes", "label": "int"}``.
        out: a local directory, a remote URL, or a ``(local, remote)`` pair.
        compression: ``None`` or e.g. ``"zstd"``, ``"zstd:7"``, ``"br"``, ``"gz:5"``.
        hashes: sorted hash algorithms to record, e.g. ``["sha1", "xxh3_64"]``.
        size_limit: shard size limit, an int or a string such as ``"64mb"``; None for one shard.
        **kwargs: ``keep_local``, ``progress_bar``, ``max_workers``, ``exist_ok``, ``retry``.

    Use it as a context manager; `write` one dict per sample::

        with MDSWriter(out="data/train", columns={"text": "str", "id": "int"}) as out:
            for i, text in enumerate(texts):
                out.write({"text": text, "id": i})
    """

    format = "mds"
    extra_bytes_per_sample = 4

    def __init__(
        self,
        *,
        columns: dict[str, str],
        out: str | tuple[str, str],
        compression: str | None = None,
        hashes: list[str] | None = None,
        size_limit: int | str | None = 1 << 26,
        **kwargs: Any,
    ) -> None:
        if not isinstance(columns, dict) or not columns:
            raise ValueError(
                f"columns must be a non-empty dict of name to encoding, got {columns!r}"
            )
        self.column_names = sorted(columns)
        self.column_encodings = [columns[name] for name in self.column_names]
        for name, encoding in zip(self.column_names, self.column_encodings, strict=True):
            if not isinstance(encoding, str) or not is_mds_encoding(encoding):
                raise EncodingError(
                    f"Unsupported encoding {encoding!r} for column {name!r}; MDS supports "
                    f"{', '.join(sorted(get_mds_encodings()))} (ndarray also as ndarray:dtype "
                    "and ndarray:dtype:d0,d1,...)"
                )
        coders = [get_coder(enc) for enc in self.column_encodings]
        self.column_sizes = [coder.size for coder in coders]
        self._columns = [
            (name, coder.encode, coder.size)
            for name, coder in zip(self.column_names, coders, strict=True)
        ]
        self._column_set = frozenset(self.column_names)
        self._num_variable = sum(1 for size in self.column_sizes if size is None)
        self._fixed_size = sum(size for size in self.column_sizes if size is not None)
        self._pack_sizes = struct.Struct(f"<{self._num_variable}I").pack
        super().__init__(
            out=out, compression=compression, hashes=hashes, size_limit=size_limit, **kwargs
        )
        self._fast_encode = _compile_encoder(self._columns)
        self._config_bytes = json.dumps(self.get_config(), sort_keys=True).encode("utf-8")
        self.extra_bytes_per_shard = 4 + 4 + len(self._config_bytes)
        self._new_shard()

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "column_names": self.column_names,
                "column_encodings": self.column_encodings,
                "column_sizes": self.column_sizes,
            }
        )
        return config

    def encode_sample(self, sample: dict[str, Any]) -> bytes:
        """Encode one sample: variable-size column sizes, then every column's bytes."""
        parts, _ = self.encode_parts(sample)
        return b"".join(parts)

    def encode_parts(self, sample: dict[str, Any]) -> tuple[list[bytes], int]:
        try:
            return self._fast_encode(sample)
        except Exception:
            return self._checked_encode(sample)  # raises the error that names the column

    def _checked_encode(self, sample: dict[str, Any]) -> tuple[list[bytes], int]:
        sizes = []
        parts = [b""]  # the sizes header goes first
        name = None
        try:
            for name, encode, size in self._columns:
                data = encode(sample[name])
                if size is None:
                    sizes.append(len(data))
                elif len(data) != size:
                    raise EncodingError(
                        f"it encodes to {len(data)} bytes, but the encoding is fixed at "
                        f"{size} bytes"
                    )
                parts.append(data)
            if len(sample) != len(self._columns):
                name = None
                raise KeyError
        except (
            KeyError,
            TypeError,
            AttributeError,
            EncodingError,
            ValueError,
            OverflowError,
        ) as err:
            raise self._sample_error(sample, name, err) from err
        if self._num_variable:
            parts[0] = self._pack_sizes(*sizes)
            return parts, 4 * self._num_variable + sum(sizes) + self._fixed_size
        return parts[1:], self._fixed_size

    def _sample_error(self, sample: Any, column: str | None, err: BaseException) -> Exception:
        shard = self.shard_index
        loc = {
            "file": f"{self.local}/shard.{shard:05}.mds",
            "shard": shard,
            "sample": self.samples_written,
        }
        if not isinstance(sample, dict):
            return ColumnError(
                f"A sample must be a dict of column to value, got {type(sample).__name__} "
                f"({where(**loc)})"
            )
        missing = sorted(self._column_set - set(sample))
        extra = sorted(map(str, set(sample) - self._column_set))
        if missing or extra:
            problems = ([f"missing {missing}"] if missing else []) + (
                [f"unexpected {extra}"] if extra else []
            )
            return ColumnError(
                f"Sample does not match the writer's columns ({where(**loc)}): "
                f"{'; '.join(problems)}; expected exactly {self.column_names}"
            )
        encoding = self.column_encodings[self.column_names.index(column)]
        value = sample[column]
        return EncodingError(
            f"Cannot encode column {column!r} as {encoding!r} ({where(**loc, column=column)}): "
            f"{err} (got a value of type {type(value).__name__})"
        )

    def shard_files(self, chunks: list[bytes], sizes: list[int]) -> list[tuple[str, list[bytes]]]:
        n = len(sizes)
        head_len = 4 + 4 * (n + 1) + len(self._config_bytes)
        offsets = np.empty(n + 1, np.int64)
        offsets[0] = head_len
        if n:
            np.cumsum(np.asarray(sizes, np.int64), out=offsets[1:])
            offsets[1:] += head_len
        if offsets[-1] > _writer.MAX_SHARD_BYTES:  # guarded in write(); a last line of defence
            raise ShardTooLargeError(
                f"MDS shard of {offsets[-1]} bytes passes the 4 GiB limit of its 32-bit offsets"
            )
        header = np.uint32(n).tobytes() + offsets.astype("<u4").tobytes()
        return [("data", [header, self._config_bytes, *chunks])]


def _compile_encoder(columns: list[tuple[str, Any, int | None]]) -> Any:
    """Build a straight-line encoder for these columns: no loop, no per-column branching.

    Writing is bound by Python's per-sample work, so the common path is generated once per
    writer (as `collections.namedtuple` does). It raises on anything unusual, and the caller
    then re-encodes the sample on the checked path, whose errors name the column and sample.
    """
    env: dict[str, Any] = {"_pack": struct.Struct(f"<{sum(s is None for *_, s in columns)}I").pack}
    lines = ["def encode(sample):", f"    if len(sample) != {len(columns)}: raise KeyError"]
    variable, fixed_total = [], 0
    for i, (name, encode, size) in enumerate(columns):
        env[f"_e{i}"] = encode
        lines.append(f"    d{i} = _e{i}(sample[{name!r}])")
        if size is None:
            lines.append(f"    n{i} = len(d{i})")
            variable.append(i)
        else:
            lines.append(f"    if len(d{i}) != {size}: raise ValueError")
            fixed_total += size
    parts = ", ".join(f"d{i}" for i in range(len(columns)))
    if variable:
        counts = ", ".join(f"n{i}" for i in variable)
        total = " + ".join([str(4 * len(variable) + fixed_total)] + [f"n{i}" for i in variable])
        lines.append(f"    return [_pack({counts}), {parts}], {total}")
    else:
        lines.append(f"    return [{parts}], {fixed_total}")
    exec("\n".join(lines), env)  # noqa: S102 - the source is built from column indices only
    return env["encode"]
