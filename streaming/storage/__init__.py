"""Object storage: one interface (`base.Backend`), one module per backend, chosen by URL scheme
(`registry.get_backend`), with retries (`download.download`, `download.upload`)."""

from streaming.storage.base import (
    Backend,
    DownloadTimeoutError,
    ObjectNotFoundError,
    PermanentStorageError,
    StorageAuthError,
    StorageError,
)
from streaming.storage.download import download, upload
from streaming.storage.registry import get_backend
from streaming.storage.upload import Uploader, get_uploader

__all__ = [
    "Backend",
    "DownloadTimeoutError",
    "ObjectNotFoundError",
    "PermanentStorageError",
    "StorageAuthError",
    "StorageError",
    "Uploader",
    "download",
    "get_backend",
    "get_uploader",
    "upload",
]
