"""The storage interface: what every backend (local, s3, gs, oci, azure) does, and its errors.

A backend moves whole objects between a URL and a local path. It knows nothing about datasets.
Errors fall in two kinds, because the retry loop (`streaming.storage.download`) treats them
differently:

* `PermanentStorageError` (a missing object, a missing bucket, bad credentials): retrying cannot
  help, so it fails at once, naming the URL.
* anything else (connection resets, 5xx answers, truncated bodies, `DownloadTimeoutError`):
  transient, retried with exponential backoff and jitter.

Backends create their SDK clients lazily, on first use, and never pickle them: a backend that
travels into a DataLoader worker arrives without a client and makes its own.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

__all__ = [
    "Backend",
    "StorageError",
    "PermanentStorageError",
    "ObjectNotFoundError",
    "StorageAuthError",
    "DownloadTimeoutError",
    "IncompleteDownloadError",
    "atomic_download_path",
    "copy_chunks",
]


class StorageError(OSError):
    """A storage operation failed; the message names the URL."""


class PermanentStorageError(StorageError):
    """A failure that retrying cannot fix (missing object or bucket, bad credentials)."""


class ObjectNotFoundError(PermanentStorageError, FileNotFoundError):
    """The object (or its bucket/container) does not exist."""


class StorageAuthError(PermanentStorageError, PermissionError):
    """The credentials were refused, or they do not allow this operation."""


class DownloadTimeoutError(StorageError, TimeoutError):
    """One download took longer than `download_timeout` seconds (transient: retried)."""


class IncompleteDownloadError(StorageError):
    """The body ended before the object's size (transient: retried)."""


class Backend:
    """One storage scheme. Subclasses implement the four operations for their URLs.

    Every method takes full URLs (``s3://bucket/dir/file``). `download_file` must be atomic:
    write through `atomic_download_path` so a killed or failed download never leaves a file at
    `local_path`.
    """

    #: URL schemes this backend serves, e.g. ``("s3",)``.
    schemes: tuple[str, ...] = ()

    def download_file(self, remote_url: str, local_path: str, timeout: float) -> None:
        """Fetch the object at `remote_url` into `local_path`, in at most `timeout` seconds."""
        raise NotImplementedError

    def upload_file(self, local_path: str, remote_url: str) -> None:
        """Put the local file at `remote_url`, replacing any object there."""
        raise NotImplementedError

    def list_prefix(self, remote_url: str) -> list[str]:
        """Names of the objects under the directory `remote_url`, relative to it, sorted."""
        raise NotImplementedError

    def exists(self, remote_url: str) -> bool:
        """Whether an object is at `remote_url`."""
        raise NotImplementedError

    def __getstate__(self) -> dict[str, Any]:
        # SDK clients hold sockets and locks: workers build their own (see `_client` users).
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_client")}


@contextlib.contextmanager
def atomic_download_path(local_path: str) -> Iterator[str]:
    """A temporary path beside `local_path`; renamed onto it if the block succeeds, deleted if
    it raises. The temporary name ends in ``.tmp-<pid>-<thread>`` so nothing ever takes it for
    a finished file, and concurrent writers never share one."""
    directory = os.path.dirname(local_path) or "."
    os.makedirs(directory, exist_ok=True)
    tmp = f"{local_path}.tmp-{os.getpid()}-{threading.get_ident()}"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)  # never write through a file or symbolic link planted at this name
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644))
    try:
        yield tmp
        os.replace(tmp, local_path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


def copy_chunks(
    chunks: Iterable[bytes],
    out: BinaryIO,
    url: str,
    timeout: float,
    expected_size: int | None = None,
    started: float | None = None,
) -> int:
    """Write `chunks` to `out`, raising `DownloadTimeoutError` once `timeout` seconds have
    passed since `started` (default: now), and `IncompleteDownloadError` if fewer than
    `expected_size` bytes came. Returns the bytes written."""
    start = time.monotonic() if started is None else started
    written = 0
    for chunk in chunks:
        out.write(chunk)
        written += len(chunk)
        if time.monotonic() - start > timeout:
            raise DownloadTimeoutError(f"Download of {url} took longer than {timeout} s")
    if expected_size is not None and written != expected_size:
        raise IncompleteDownloadError(
            f"Download of {url} got {written} bytes, expected {expected_size}"
        )
    return written
