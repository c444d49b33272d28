"""Reading MDS shards: offsets checked once on open, then one slice and a decode per sample."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from streaming.format.errors import EncodingError, ShardFormatError, UnsafeEncodingError
from streaming.format.mds.encodings import get_coder, is_mds_encoding
from streaming.format.shard import Shard

_UINT32 = struct.Struct("<I")
_PAIR = struct.Struct("<II")


class MDSShard(Shard):
    """One MDS shard. `get_item(i)` returns ``{column: value}`` for sample `i` of the shard."""

    def __init__(
        self,
        dirname: str,
        entry: dict[str, Any],
        shard_id: int,
        validate_hash: str | None = None,
        allow_unsafe_types: bool = False,
        index_path: str = "index.json",
    ) -> None:
        super().__init__(dirname, entry, shard_id, validate_hash)
        self._kwargs.update(allow_unsafe_types=allow_unsafe_types, index_path=index_path)
        names, encodings, sizes = (
            entry["column_names"],
            entry["column_encodings"],
            entry["column_sizes"],
        )
        columns = []
        for name, encoding, size in zip(names, encodings, sizes, strict=False):
            if not is_mds_encoding(encoding):
                raise EncodingError(
                    f"Unknown encoding {encoding!r} for column {name!r} in {index_path!r}, "
                    f"shard {shard_id}"
                )
            coder = get_coder(encoding)
            if not coder.safe and not allow_unsafe_types:
                raise UnsafeEncodingError(
                    f"Column {name!r} of shard {shard_id} in {index_path!r} uses {encoding!r}, "
                    "which can run arbitrary code when read; pass allow_unsafe_types=True if you "
                    "trust this dataset"
                )
            if size and coder.size is not None and size != coder.size:
                raise ShardFormatError(
                    f"Column {name!r} of shard {shard_id} in {index_path!r} records size {size}, "
                    f"but {encoding!r} is {coder.size} bytes"
                )
            columns.append((name, coder.decode, size or None))
        self._columns = columns
        self._num_variable = sum(1 for _, _, size in columns if size is None)
        self._sizes = struct.Struct(f"<{self._num_variable}I")
        self._header = 4 * self._num_variable
        self._fixed_total = sum(size for _, _, size in columns if size)

    def _check(self, buf: Any, role: str) -> None:
        size = len(buf)
        n = self.samples
        if size < 4 * (n + 2):
            raise ShardFormatError(
                f"Shard is {size} bytes, too short for the header of {n} samples "
                f"({self.where()}): it is truncated"
            )
        (stored,) = _UINT32.unpack_from(buf, 0)
        if stored != n:
            raise ShardFormatError(
                f"Shard header says {stored} samples, but index.json says {n} ({self.where()})"
            )
        offsets = np.frombuffer(buf, "<u4", n + 1, 4).astype(np.int64)
        if offsets[0] < 4 * (n + 2) or offsets[-1] != size or np.any(np.diff(offsets) < 0):
            bad = _first_bad_offset(offsets, n, size)
            raise ShardFormatError(
                f"Shard offsets are out of range at sample {bad} ({self.where(bad)}): expected "
                f"offsets rising from at least {4 * (n + 2)} to the file's size, {size} bytes; "
                "it is truncated or corrupt"
            )
        if n and np.any(np.diff(offsets) < self._header + self._fixed_total):
            bad = int(np.argmax(np.diff(offsets) < self._header + self._fixed_total))
            raise ShardFormatError(
                f"Sample {bad} is shorter than its columns' fixed sizes ({self.where(bad)})"
            )

    def get_sample_data(self, idx: int) -> memoryview:
        """The encoded bytes of sample `idx`, without decoding."""
        buf = self.buffer()
        begin, end = _PAIR.unpack_from(buf, 4 + 4 * idx)
        return memoryview(buf)[begin:end]

    def get_item(self, idx: int) -> dict[str, Any]:
        buf = self.buffer()
        begin, end = _PAIR.unpack_from(buf, 4 + 4 * idx)
        data = memoryview(buf)[begin:end]
        return self.decode_sample(data, idx)

    def decode_sample(self, data: memoryview, idx: int = -1) -> dict[str, Any]:
        """Decode one sample's bytes into ``{column: value}``."""
        sizes = self._sizes.unpack_from(data, 0) if self._num_variable else ()
        pos = self._header
        out = {}
        k = 0
        for name, decode, size in self._columns:
            if size is None:
                size = sizes[k]
                k += 1
            end = pos + size
            if end > len(data):
                raise ShardFormatError(
                    f"Column {name!r} runs past the end of its sample ({self.where(idx)}): "
                    f"the sample is {len(data)} bytes"
                )
            try:
                out[name] = decode(data[pos:end])
            except EncodingError as err:
                raise EncodingError(f"{err} (column {name!r}, {self.where(idx)})") from err
            pos = end
        if pos != len(data):
            raise ShardFormatError(
                f"Sample's column sizes add up to {pos} bytes, but the sample is {len(data)} "
                f"({self.where(idx)})"
            )
        return out


def _first_bad_offset(offsets: np.ndarray, n: int, size: int) -> int:
    if offsets[0] < 4 * (n + 2):
        return 0
    bad = np.flatnonzero((np.diff(offsets) < 0) | (offsets[1:] > size))
    return int(bad[0]) if len(bad) else n - 1
