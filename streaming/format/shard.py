"""Reading one shard of a local dataset directory: its files, their checks, and its samples.

A shard's bytes come from its raw file, memory-mapped. If only the compressed file is present,
the first access decompresses it: to the raw file beside it (temporary name, then rename) when
the directory is writable, otherwise into memory. Every check that can fail on a bad file fails
here with the file, the shard and the sample named: wrong size (truncation), offsets outside
the file, a hash that does not match, a compressed file that does not decompress.

With `validate_hash`, every file is checked when a process first opens it, whatever put it
there (a download, an earlier decompression, an earlier run); a `hash_record` set by the cache
spares re-hashing a file version already checked on this node. A decompressed shard is never
written through a symbolic link, outside the dataset directory, or onto its index.json.
"""

from __future__ import annotations

import mmap
import os
import threading
from typing import Any

from streaming.format.compression import decompress
from streaming.format.errors import IndexFormatError, ShardFormatError, where
from streaming.format.files import unsafe_target, write_atomic
from streaming.format.hashing import check_hash


class Shard:
    """Base class of the per-format shard readers (`MDSShard`, `JSONShard`, `XSVShard`).

    Args:
        dirname: the dataset directory (the split's directory, where `index.json` lives).
        entry: this shard's object from `index.json`.
        shard_id: this shard's position in the index, for messages.
        validate_hash: a hash algorithm to check each file against before first use, or None.
    """

    def __init__(
        self, dirname: str, entry: dict[str, Any], shard_id: int, validate_hash: str | None = None
    ) -> None:
        self._args: tuple = (dirname, entry, shard_id)
        self._kwargs: dict[str, Any] = {"validate_hash": validate_hash}
        self.dirname = dirname
        self.entry = entry
        self.shard_id = shard_id
        self.samples: int = entry["samples"]
        self.compression: str | None = entry.get("compression")
        self.validate_hash = validate_hash
        self._lock = threading.Lock()
        self._buffers: dict[str, Any] = {}
        # Set by the cache (`streaming.cache.verified.VerifiedRecord`): files already hashed
        # on this node are not hashed again. None: every process hashes what it opens.
        self.hash_record: Any = None

    def __reduce__(self) -> tuple:
        # Pickled (into DataLoader workers) as its constructor arguments: open files, locks and
        # compiled decoders are rebuilt in the new process on first use.
        return (_rebuild, (type(self), self._args, self._kwargs), {"hash_record": self.hash_record})

    def where(self, sample: int | None = None, role: str = "raw_data") -> str:
        """A location string for messages: the file, the shard and optionally the sample."""
        path = os.path.join(self.dirname, self.entry[role]["basename"])
        return where(file=path, shard=self.shard_id, sample=sample)

    def file_pairs(self) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        """The (raw, zip) info of each file of the shard: data, then meta for split formats."""
        pairs = [(self.entry["raw_data"], self.entry.get("zip_data"))]
        if self.entry.get("raw_meta"):
            pairs.append((self.entry["raw_meta"], self.entry.get("zip_meta")))
        return pairs

    def is_present(self) -> bool:
        """Whether every file of the shard is on disk, raw or compressed."""
        for raw, zipped in self.file_pairs():
            raw_path = os.path.join(self.dirname, raw["basename"])
            zip_path = os.path.join(self.dirname, zipped["basename"]) if zipped else None
            if not os.path.isfile(raw_path) and not (zip_path and os.path.isfile(zip_path)):
                return False
        return True

    def buffer(self, role: str = "raw_data") -> Any:
        """The raw bytes of one of the shard's files (an mmap or bytes), opened on first use."""
        buf = self._buffers.get(role)
        if buf is None:
            with self._lock:
                buf = self._buffers.get(role)
                if buf is None:
                    zip_role = "zip_data" if role == "raw_data" else "zip_meta"
                    buf = self._open(self.entry[role], self.entry.get(zip_role), role)
                    self._check(buf, role)
                    self._buffers[role] = buf
        return buf

    def close(self) -> None:
        """Forget the opened files (they are unmapped once no sample refers to them), so that
        a deleted shard's disk space is freed; the next read opens them again."""
        with self._lock:
            self._buffers = {}

    def _check(self, buf: Any, role: str) -> None:
        """Format-specific checks of a freshly opened file; subclasses extend this."""

    def _open(self, raw: dict[str, Any], zipped: dict[str, Any] | None, role: str) -> Any:
        raw_path = os.path.join(self.dirname, raw["basename"])
        if os.path.isfile(raw_path) and os.path.getsize(raw_path) == raw["bytes"]:
            # Hashed whatever its origin (downloaded, decompressed earlier, left by another
            # run): with validate_hash, no byte is served unchecked.
            return self._map_checked(raw_path, raw)
        if zipped is None:
            if os.path.isfile(raw_path):
                raise ShardFormatError(
                    f"Shard file is {os.path.getsize(raw_path)} bytes, but index.json records "
                    f"{raw['bytes']} ({self.where(role=role)}): it is truncated or stale"
                )
            raise FileNotFoundError(f"Missing shard file ({self.where(role=role)})")
        zip_path = os.path.join(self.dirname, zipped["basename"])
        if not os.path.isfile(zip_path):
            raise FileNotFoundError(
                f"Missing shard file: neither {raw_path!r} nor {zip_path!r} exists "
                f"(shard {self.shard_id})"
            )
        with open(zip_path, "rb") as f:
            data = f.read(zipped["bytes"] + 1)
        if len(data) != zipped["bytes"]:
            raise ShardFormatError(
                f"Compressed shard file is {os.path.getsize(zip_path)} bytes, but index.json "
                f"records {zipped['bytes']} ({where(file=zip_path, shard=self.shard_id)}): it is "
                "truncated or stale"
            )
        if self.validate_hash:
            expected = self._expected(zipped, zip_path)
            check_hash(self.validate_hash, data, expected, self._what(zip_path))
        out = decompress(
            self.compression or "",
            data,
            f"{zip_path!r} (shard {self.shard_id})",
            max_size=raw["bytes"],  # a corrupt or hostile file cannot inflate past this
        )
        del data
        if len(out) != raw["bytes"]:
            raise ShardFormatError(
                f"Shard decompresses to {len(out)} bytes, but index.json records {raw['bytes']} "
                f"({where(file=zip_path, shard=self.shard_id)})"
            )
        raw_digest = None
        if self.validate_hash and self.validate_hash in raw.get("hashes", {}):
            raw_digest = raw["hashes"][self.validate_hash]
            check_hash(self.validate_hash, out, raw_digest, self._what(raw_path))
        problem = unsafe_target(self.dirname, raw["basename"])
        if problem:
            raise ShardFormatError(
                f"Refusing to write the decompressed shard {self.shard_id} to its basename "
                f"{raw['basename']!r} in {self.dirname!r}: {problem}. The index.json is corrupt "
                "or hostile."
            )
        try:
            written = write_atomic(raw_path, [out])
        except OSError:
            return out  # a read-only directory: serve from memory
        with open(raw_path, "rb") as f:
            st = os.fstat(f.fileno())
            buf = b"" if st.st_size == 0 else mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        # The bytes just checked, if the file is still ours (the rename changed only its ctime).
        ours = (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns) == (
            written.st_ino,
            written.st_dev,
            written.st_size,
            written.st_mtime_ns,
        )
        if raw_digest is not None and self.hash_record is not None and ours:
            self.hash_record.add(raw_path, st, self.validate_hash, raw_digest)
        return buf

    def _what(self, path: str) -> str:
        return f"{path!r} (shard {self.shard_id})"

    def _expected(self, info: dict[str, Any], path: str) -> str:
        algo = self.validate_hash
        expected = info.get("hashes", {}).get(algo)
        if expected is None:
            raise IndexFormatError(
                f"Hash {algo!r} was requested by validate_hash, but index.json records only "
                f"{sorted(info.get('hashes', {}))} for {path!r} (shard {self.shard_id})"
            )
        return expected

    def _map_checked(self, path: str, info: dict[str, Any]) -> Any:
        """Map the file at `path`; with validate_hash, check the mapped bytes (or a record that
        this version of the file was checked on this node) first."""
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            buf = b"" if st.st_size == 0 else mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        algo = self.validate_hash
        if algo:
            expected = self._expected(info, path)

            def verify() -> None:
                check_hash(algo, buf, expected, self._what(path))

            if self.hash_record is None:
                verify()
            else:
                self.hash_record.check(path, st, algo, expected, verify)
        return buf

    def get_item(self, idx: int) -> dict[str, Any]:
        """Decode sample `idx` of this shard (0 <= idx < samples)."""
        raise NotImplementedError


def _rebuild(cls: type, args: tuple, kwargs: dict[str, Any]) -> Shard:
    return cls(*args, **kwargs)
