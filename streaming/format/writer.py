"""The shard-writing pipeline shared by every format: size accounting, shard files, the index.

A writer encodes each sample on the caller's thread and buffers it. When the next sample would
push the shard past `size_limit`, the buffered samples become a shard: a background thread
serialises, compresses, hashes and writes it (temporary name, then rename) and hands it to the
uploader, while the caller goes on encoding. `index.json` is written last, only after every
shard has been written and uploaded, so no index ever names a missing or partial shard.

Size accounting, the split rule and the index bytes follow mosaicml-streaming exactly, so that
the same input gives the same files.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from streaming.format.compression import compress, get_compression_extension, is_compression
from streaming.format.errors import ShardTooLargeError
from streaming.format.files import write_atomic
from streaming.format.hashing import get_hash, hash_chunks, is_hash
from streaming.format.index import INDEX_BASENAME, write_index
from streaming.format.output import OutputLock, check_replaceable
from streaming.format.sizes import bytes_to_int
from streaming.storage.registry import is_remote_url
from streaming.storage.upload import get_uploader

MAX_SHARD_BYTES = 2**32 - 1  # MDS offsets are uint32; no shard byte may lie past this.
_KWARGS = {"progress_bar", "max_workers", "retry", "exist_ok"}


class WriterError(RuntimeError):
    """A background step (serialising, writing or uploading a shard) failed."""


class Writer:
    """Base class of the dataset writers. Use a subclass: `MDSWriter`, `JSONWriter`, `CSVWriter`...

    Args:
        out: a local directory, a remote URL, or a ``(local, remote)`` pair.
        keep_local: with a remote, keep the local copy after uploading.
        compression: ``None``, or one of ``br``, ``bz2``, ``gz``, ``snappy``, ``zstd``,
            optionally with a level (``"zstd:7"``).
        hashes: sorted list of hash algorithms to record for every file (``["sha1", "xxh64"]``).
        size_limit: the most bytes a shard may hold before a new one starts: an int, a string
            such as ``"64mb"``, or ``None`` for one shard (which must still stay below 4 GiB).
        progress_bar: show a progress bar of shards written.
        max_workers: threads that write and upload finished shards in the background.
        exist_ok: replace an existing dataset in the output directory instead of raising; a
            directory holding anything but a dataset's files is refused, naming them.

    One writer at a time per output directory: a second one (in any process) raises
    `OutputInUseError` until the first finishes, is closed, or its process ends. Use it as a
    context manager: an exception (Ctrl-C included) inside the block writes no index.json, so a
    dataset cut short never looks complete; the shards written are kept, and `finish()` still
    publishes them if that is what you want.
    """

    format: str = ""
    extra_bytes_per_shard: int = 0
    extra_bytes_per_sample: int = 0
    # Bytes a shard file holds beyond what the peer's size accounting counts (the XSV header):
    # not part of the split rule, which must match the peer, but part of the 4 GiB guard.
    _uncounted_bytes: int = 0

    def __init__(
        self,
        *,
        out: str | tuple[str, str],
        keep_local: bool = False,
        compression: str | None = None,
        hashes: list[str] | None = None,
        size_limit: int | str | None = 1 << 26,
        **kwargs: Any,
    ) -> None:
        unknown = set(kwargs) - _KWARGS
        if unknown:
            raise ValueError(
                f"Invalid Writer argument(s): {sorted(unknown)}; accepted extra arguments are "
                f"{sorted(_KWARGS)}"
            )
        if not is_compression(compression):
            raise ValueError(
                f"Invalid compression {compression!r}: expected None or br, bz2, gz, snappy, "
                "zstd, optionally with a level such as 'zstd:7'"
            )
        hashes = list(hashes or [])
        for algo in hashes:
            if not is_hash(algo):
                raise ValueError(f"Invalid hash {algo!r} in hashes={hashes!r}")
        if hashes != sorted(hashes):  # duplicates pass, as in the peer
            raise ValueError(f"Hashes must be sorted, got {hashes!r}")
        limit = bytes_to_int(size_limit) if size_limit else None
        if limit is not None and not 0 < limit <= MAX_SHARD_BYTES:
            raise ValueError(
                f"Invalid size_limit {size_limit!r}: it must be between 1 byte and 4 GiB - 1 "
                "(MDS offsets are 32-bit)"
            )
        self.keep_local = keep_local
        self.compression = compression
        self.hashes = hashes
        self.size_limit = limit
        # One writer per output directory, taken before exist_ok may delete anything.
        local = _local_dir(out)
        self._lock_dir = local
        self._lock = OutputLock(local) if local else None
        try:
            if kwargs.get("exist_ok") and local:
                check_replaceable(local)
            self.uploader = get_uploader(
                out,
                keep_local=keep_local,
                exist_ok=kwargs.get("exist_ok", False),
                retry=int(kwargs.get("retry") or 2),
            )
        except BaseException:
            self._release_lock()
            raise
        self.local = self.uploader.local
        self.remote = self.uploader.remote
        self.max_workers = int(kwargs.get("max_workers") or 2)
        self._executor = ThreadPoolExecutor(self.max_workers, thread_name_prefix="shard-writer")
        self._pending: deque[Future] = deque()
        self._progress = None
        if kwargs.get("progress_bar"):
            from tqdm import tqdm

            self._progress = tqdm(desc=f"writing {self.local}", unit=" shards")
        self.shards: list[dict[str, Any]] = []
        self.samples_written = 0
        self._finished = False
        self._stopped = False  # stopped by an exception: shards kept, no index (see __exit__)
        self._new_shard()

    # -- to be provided by subclasses ---------------------------------------------------------

    def encode_sample(self, sample: dict[str, Any]) -> bytes:
        """Encode one sample to the bytes stored for it."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """The shard's settings, stored in the index (and, for MDS, inside the shard)."""
        return {
            "version": 2,
            "format": self.format,
            "compression": self.compression,
            "hashes": self.hashes,
            "size_limit": self.size_limit,
        }

    def encode_parts(self, sample: dict[str, Any]) -> tuple[list[bytes], int]:
        """Encode one sample as byte strings to be stored back to back, and their total size.

        The parts may be the caller's own (immutable) `bytes` objects: keeping references
        instead of joining them saves a copy of every sample.
        """
        data = self.encode_sample(sample)
        return [data], len(data)

    def shard_files(self, chunks: list[bytes], sizes: list[int]) -> list[tuple[str, list[bytes]]]:
        """The files of one shard as ``(role, chunks)``, role ``data`` or ``meta``.

        `chunks` are the samples' parts back to back; `sizes` is each sample's total size.
        """
        raise NotImplementedError

    # -- the pipeline -------------------------------------------------------------------------

    def _new_shard(self) -> None:
        self._chunks: list[bytes] = []
        self._sizes: list[int] = []
        self._shard_size = self.extra_bytes_per_shard

    def write(self, sample: dict[str, Any]) -> None:
        """Encode and buffer one sample; flush a shard first if this sample would overflow it."""
        parts, length = self.encode_parts(sample)
        size = length + self.extra_bytes_per_sample
        limit = self.size_limit
        if limit is not None and limit < self._shard_size + size:
            self.flush_shard()
        if self._shard_size + size + self._uncounted_bytes > MAX_SHARD_BYTES:
            self._refuse_oversize(size)
        self._chunks += parts
        self._sizes.append(length)
        self._shard_size += size
        self.samples_written += 1

    def _refuse_oversize(self, size: int) -> None:
        raise ShardTooLargeError(
            f"Sample {self.samples_written} ({size} bytes) would end shard {self.shard_index} of "
            f"{self.local!r} at byte {self._shard_size + size}, past the 4 GiB limit of the "
            "format's 32-bit offsets. Nothing was written for it. Set a size_limit below 4 GiB "
            f"(e.g. '64mb'){'' if self.size_limit else ' instead of None'}, or make samples "
            "smaller."
        )

    def flush_shard(self) -> None:
        """Hand the buffered samples to a background thread as the next shard."""
        index = self.shard_index
        chunks, sizes, shard_size = self._chunks, self._sizes, self._shard_size
        self._new_shard()
        try:
            self._pending.append(self._executor.submit(self._write_shard, index, chunks, sizes))
        except BaseException:
            # Interrupted (Ctrl-C) while handing over: keep the samples buffered, so that they
            # are either written by finish() or, at worst, written twice under the same name.
            self._chunks, self._sizes, self._shard_size = chunks, sizes, shard_size
            raise
        self._reap(block=False)  # collect finished shards (and their errors) early
        while len(self._pending) > self.max_workers:
            self._reap(block=True)

    def _reap(self, block: bool) -> None:
        while self._pending and (block or self._pending[0].done()):
            future = self._pending[0]
            try:
                entry = future.result()  # a Ctrl-C here propagates; the shard stays pending
            except Exception as err:
                self._pending.popleft()
                self._abort()
                raise WriterError(
                    f"Writing a shard of {self.remote or self.local!r} failed, so no index.json "
                    f"was written: {type(err).__name__}: {err}"
                ) from err
            self._pending.popleft()
            self.shards.append(entry)
            if self._progress is not None:
                self._progress.update(1)
            block = False

    def _name(self, index: int, role: str) -> str:
        name = f"shard.{index:05}.{self.format}"
        return name if role == "data" else f"{name}.{role}"

    @property
    def shard_index(self) -> int:
        """The index of the shard now being filled."""
        return len(self.shards) + len(self._pending)

    def _write_shard(self, index: int, chunks: list[bytes], sizes: list[int]) -> dict[str, Any]:
        entry = self.get_config()
        entry["samples"] = len(sizes)
        for role, file_chunks in self.shard_files(chunks, sizes):
            raw_key, zip_key = (
                ("raw_data", "zip_data") if role == "data" else ("raw_meta", "zip_meta")
            )
            basename = self._name(index, role)
            entry[raw_key], entry[zip_key] = self._write_file(basename, file_chunks)
        return entry

    def _write_file(
        self, basename: str, chunks: list[bytes]
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        if not self.compression:  # no joined copy: hash and write the chunks as they are
            raw_info = {
                "basename": basename,
                "bytes": sum(map(len, chunks)),
                "hashes": {algo: hash_chunks(algo, chunks) for algo in self.hashes},
            }
            write_atomic(os.path.join(self.local, basename), chunks)
            self.uploader.upload(basename)
            return raw_info, None
        raw = b"".join(chunks)
        raw_info = {
            "basename": basename,
            "bytes": len(raw),
            "hashes": {algo: get_hash(algo, raw) for algo in self.hashes},
        }
        zipped = compress(self.compression, raw)
        zip_name = f"{basename}.{get_compression_extension(self.compression)}"
        zip_info = {
            "basename": zip_name,
            "bytes": len(zipped),
            "hashes": {algo: get_hash(algo, zipped) for algo in self.hashes},
        }
        write_atomic(os.path.join(self.local, zip_name), [zipped])
        self.uploader.upload(zip_name)
        return raw_info, zip_info

    def finish(self) -> None:
        """Flush the last shard, wait for every shard, then write and upload `index.json`.

        After a `with` block was left by an exception (which writes no index), calling
        `finish()` deliberately publishes the samples written until then.
        """
        if self._finished:
            return
        if self._stopped and self._lock_dir and not (self._lock and self._lock.held):
            self._lock = OutputLock(self._lock_dir)
        try:
            self._flush_all()
            self._finished = True
            self._executor.shutdown(wait=True)
            try:
                write_index(os.path.join(self.local, INDEX_BASENAME), self.shards)
                self.uploader.upload(INDEX_BASENAME)
            except BaseException:
                self.uploader.abort()  # no index was published: drop a temporary staging copy
                raise
            if self._progress is not None:
                self._progress.close()
            self.uploader.finish()
        finally:
            if self._finished:
                self._release_lock()

    def close(self) -> None:
        """Stop a writer that will not be finished (after an error): no index.json is written,
        shards already written stay, and the output directory is free for another writer.
        Does nothing after `finish()`."""
        if not self._finished:
            self._abort()

    def _flush_all(self) -> None:
        """Hand over the buffered samples and wait until every shard is written."""
        if self._sizes:
            self.flush_shard()
        while self._pending:
            self._reap(block=True)

    def _abort(self) -> None:
        """Stop without writing an index: shards already written stay, unnamed by any index."""
        self._finished = True
        for future in self._pending:
            future.cancel()
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()
        if self._progress is not None:
            self._progress.close()
        self.uploader.abort()
        self._release_lock()

    def _release_lock(self) -> None:
        if getattr(self, "_lock", None) is not None:
            self._lock.release()

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.finish()
            return
        if self._finished:
            return
        # Unlike the peer, an exception (Ctrl-C included) writes no index: a dataset cut short
        # must not look complete. The shards of the samples written so far are kept, and
        # finish() publishes them deliberately.
        if isinstance(exc, WriterError):
            self._abort()
            return
        try:
            self._flush_all()
        except BaseException:
            self._abort()
            if isinstance(exc, BaseException):
                exc.add_note(
                    f"{type(self).__name__} stopped: no index.json was written in "
                    f"{self.remote or self.local!r}, and its last shards may be missing."
                )
            return
        self._stopped = True
        self._executor.shutdown(wait=True)
        if self._progress is not None:
            self._progress.close()
        self._release_lock()
        if isinstance(exc, BaseException):
            exc.add_note(self._stopped_note())

    def _stopped_note(self) -> str:
        return (
            f"{type(self).__name__} stopped after {self.samples_written} samples in "
            f"{len(self.shards)} shards: no index.json was written in "
            f"{self.remote or self.local!r}, so the dataset does not look complete. The shards "
            "are kept. To publish these samples deliberately, call writer.finish(); to combine "
            "parts written by separate writers, use streaming.format.merge_index."
        )


def _local_dir(out: str | tuple[str, str]) -> str | None:
    """The local directory a writer writes, or None for a remote URL (a fresh temporary one)."""
    if isinstance(out, (tuple, list)):
        return os.fspath(out[0]) if len(out) == 2 and out[0] else None
    if isinstance(out, (str, os.PathLike)):
        path = os.fspath(out)
        return None if is_remote_url(path) else path
    return None
