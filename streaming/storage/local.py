"""Local paths and ``file://`` URLs: a plain copy, atomic by temporary name and rename."""

from __future__ import annotations

import os
import shutil
from urllib.parse import urlparse

from streaming.storage.base import Backend, ObjectNotFoundError, atomic_download_path

__all__ = ["LocalBackend", "local_path_of"]


def local_path_of(url: str) -> str | None:
    """The filesystem path a URL names (a plain path or ``file://``), or None for other schemes."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return parsed.path
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
        return url
    return None


class LocalBackend(Backend):
    """Local paths and ``file://`` URLs."""

    schemes = ("", "file")

    @staticmethod
    def _path(url: str) -> str:
        path = local_path_of(url)
        if path is None:
            raise ValueError(f"Not a local path or file:// URL: {url!r}")
        return path

    def download_file(self, remote_url: str, local_path: str, timeout: float = 60) -> None:
        source = self._path(remote_url)
        with atomic_download_path(local_path) as tmp:
            try:
                shutil.copyfile(source, tmp)
            except FileNotFoundError:
                raise ObjectNotFoundError(f"Remote file {remote_url!r} does not exist") from None

    def upload_file(self, local_path: str, remote_url: str) -> None:
        with atomic_download_path(self._path(remote_url)) as tmp:
            shutil.copyfile(local_path, tmp)

    def list_prefix(self, remote_url: str) -> list[str]:
        root = self._path(remote_url)
        if not os.path.isdir(root):
            return []
        return sorted(
            os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs
        )

    def exists(self, remote_url: str) -> bool:
        return os.path.isfile(self._path(remote_url))
