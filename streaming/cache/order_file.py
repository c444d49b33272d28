"""The file that holds one node's part of an epoch order, memory-mapped by every process of the
node (`streaming.cache.shared_order`).

Layout: a 64-byte header, then the array of sample IDs in C order.

====== ====== ============================================================================
offset bytes  field
====== ====== ============================================================================
0      8      magic ``b"STRMORD1"``
8      8      numpy dtype string (``"<i4"``...), NUL padded
16     32     shape: four little-endian int64 (ranks, workers per rank, batches, batch size)
48     8      progress: node-list positions ``[0, k)`` final (little-endian uint64)
56     8      pid of the process that computes it (for messages only)
====== ====== ============================================================================

The computing process creates the file under a temporary name with its space reserved
(``posix_fallocate``: a full disk is an ``OSError`` now, not a ``SIGBUS`` later), writes the
header with progress 0, and renames it into place; it then fills the array and raises the
progress as parts become final. The order is complete when progress equals the array's size.
"""

from __future__ import annotations

import mmap
import os
import struct

import numpy as np

from streaming.cache.safefs import open_nofollow

__all__ = ["HEADER_SIZE", "OrderFile", "OrderFileError", "create_order_file"]

MAGIC = b"STRMORD1"
HEADER_SIZE = 64
_HEADER = struct.Struct("<8s8s4qQQ")
_PROGRESS = 48


class OrderFileError(ValueError):
    """A shared order file is not one of ours, or its header does not match its size."""


class OrderFile:
    """A mapped order file: `array` (read-only unless opened for writing) and its progress.

    Attributes:
        path: The file's path when it was opened.
        inode: ``(st_dev, st_ino)`` of the mapped file, to notice when it is replaced.
        array: The node's part, shape (ranks, workers, batches, batch).
    """

    def __init__(self, path: str, fd: int, writable: bool) -> None:
        self.path = path
        st = os.fstat(fd)
        self.inode = (st.st_dev, st.st_ino)
        if st.st_size < HEADER_SIZE:
            raise OrderFileError(f"{path}: {st.st_size} bytes, shorter than the header")
        access = mmap.ACCESS_WRITE if writable else mmap.ACCESS_READ
        self._map = mmap.mmap(fd, st.st_size, access=access)
        if writable and hasattr(mmap, "MADV_RANDOM"):
            # The producer writes each window into every worker's slice, far apart: with the
            # default read-around, each first write there faults in (and zeroes) a large
            # folio: measured 100 ms for 64 slices' first 64 KB, 7 ms with MADV_RANDOM.
            self._map.madvise(mmap.MADV_RANDOM)
        magic, dtype, *rest = _HEADER.unpack_from(self._map, 0)
        shape = tuple(rest[:4])
        if magic != MAGIC:
            raise OrderFileError(f"{path}: not a shared order file (magic {magic!r})")
        self.dtype = np.dtype(dtype.rstrip(b"\0").decode("ascii"))
        size = int(np.prod(shape)) * self.dtype.itemsize
        if HEADER_SIZE + size != st.st_size or min(shape) < 0:
            raise OrderFileError(
                f"{path}: header declares shape {shape} of {self.dtype}, {HEADER_SIZE + size} "
                f"bytes, but the file has {st.st_size}"
            )
        self.shape: tuple[int, int, int, int] = shape  # type: ignore[assignment]
        self.size = int(np.prod(shape))
        self.array = np.frombuffer(self._map, self.dtype, self.size, HEADER_SIZE).reshape(shape)
        self._progress = np.frombuffer(self._map, np.uint64, 1, _PROGRESS)

    @property
    def progress(self) -> int:
        """Node-list positions final so far (the array's size once complete)."""
        return int(self._progress[0])

    @property
    def complete(self) -> bool:
        return self.progress >= self.size

    def publish(self, k: int) -> None:
        """Raise the progress to `k` (writers only; the array's writes come first)."""
        self._progress[0] = min(int(k), self.size)

    def producer_pid(self) -> int:
        return int(np.frombuffer(self._map, np.uint64, 1, _PROGRESS + 8)[0])


def open_order_file(path: str) -> OrderFile | None:
    """Map the order file at `path` read-only, or None if there is none (yet)."""
    try:
        fd = open_nofollow(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        return OrderFile(path, fd, writable=False)
    finally:
        os.close(fd)


def create_order_file(path: str, shape: tuple[int, ...], dtype: np.dtype) -> OrderFile:
    """Create the order file at `path` (through ``path + ".tmp"``, renamed into place), its space
    reserved and its progress 0, and map it for writing.

    Raises:
        OSError: the directory is read-only or full (nothing is left at `path`).
    """
    dtype = np.dtype(dtype)
    size = HEADER_SIZE + int(np.prod(shape)) * dtype.itemsize
    tmp = path + ".tmp"
    fd = open_nofollow(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        try:
            os.posix_fallocate(fd, 0, size)
        except OSError as e:
            if e.errno not in (95, 22):  # EOPNOTSUPP / EINVAL: a filesystem without fallocate
                raise
            os.ftruncate(fd, size)
        header = _HEADER.pack(
            MAGIC, dtype.str.encode("ascii"), *[int(n) for n in shape], 0, os.getpid()
        )
        os.pwrite(fd, header, 0)
        order = OrderFile(path, fd, writable=True)
        os.rename(tmp, path)
        return order
    except BaseException:
        os.close(fd)
        fd = -1
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    finally:
        if fd >= 0:
            os.close(fd)
