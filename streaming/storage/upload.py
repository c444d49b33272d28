"""Where a writer's finished files go: a local directory, optionally mirrored to a remote.

A writer's `out` is one of:
- a local path: files are written there and nothing is uploaded;
- a remote URL (``s3://bucket/dir``): files are written to a fresh temporary directory and
  uploaded one by one; the temporary directory is removed at the end unless `keep_local`;
- a ``(local, remote)`` pair: files are written to `local` and uploaded to `remote`.

Uploads go through a backend chosen by the remote's URL scheme. ``file://`` (a plain copy) is
built in; the object-store backends register themselves in `_BACKENDS` as they are added.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from urllib.parse import urlparse


class Backend:
    """Upload side of one storage scheme: put a local file at a remote URL, and list a prefix."""

    def upload_file(self, local_path: str, remote_url: str) -> None:
        raise NotImplementedError

    def list_prefix(self, remote_url: str) -> list[str]:
        raise NotImplementedError

    def download_file(self, remote_url: str, local_path: str) -> None:
        raise NotImplementedError


class FileBackend(Backend):
    """``file://`` URLs: a copy to another local directory, atomic by temporary name and rename."""

    @staticmethod
    def _path(url: str) -> str:
        parsed = urlparse(url)
        return parsed.path if parsed.scheme == "file" else url

    def upload_file(self, local_path: str, remote_url: str) -> None:
        dest = self._path(remote_url)
        os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
        tmp = f"{dest}.tmp-{os.getpid()}"
        shutil.copyfile(local_path, tmp)
        os.replace(tmp, dest)

    def download_file(self, remote_url: str, local_path: str) -> None:
        self.upload_file(self._path(remote_url), local_path)

    def list_prefix(self, remote_url: str) -> list[str]:
        root = self._path(remote_url)
        if not os.path.isdir(root):
            return []
        return sorted(
            os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs
        )


_BACKENDS: dict[str, Callable[[], Backend]] = {"file": FileBackend}


def get_backend(url: str) -> Backend:
    """The backend for a remote URL's scheme, or a clear error naming the supported ones."""
    scheme = urlparse(url).scheme
    factory = _BACKENDS.get(scheme)
    if factory is None:
        raise ValueError(
            f"Unsupported remote {url!r}: no storage backend for scheme {scheme + '://'!r}; "
            f"supported: local paths, {', '.join(s + '://' for s in sorted(_BACKENDS))}"
        )
    return factory()


def _is_remote(path: str) -> bool:
    return "://" in path


class Uploader:
    """A writer's output location: the local directory it writes, and the remote it mirrors to.

    Args:
        out: a local path, a remote URL, or a ``(local, remote)`` pair.
        keep_local: keep the local files after uploading (only matters when there is a remote).
        exist_ok: if the local directory already holds files, delete them first instead of
            raising `FileExistsError`.
    """

    def __init__(
        self, out: str | tuple[str, str], keep_local: bool = False, exist_ok: bool = False
    ) -> None:
        self._temporary = False
        self._uploaded: list[str] = []
        if isinstance(out, (tuple, list)):
            if len(out) != 2:
                raise ValueError(
                    f"out must be a path, a URL or a (local, remote) pair, got {out!r}"
                )
            local, remote = out
        elif isinstance(out, str) and _is_remote(out):
            local, remote = tempfile.mkdtemp(prefix="streaming-out-"), out
            self._temporary = True
        elif isinstance(out, (str, os.PathLike)):
            local, remote = os.fspath(out), None
        else:
            raise ValueError(f"out must be a path, a URL or a (local, remote) pair, got {out!r}")
        self.local: str = os.fspath(local)
        self.remote: str | None = remote
        self.keep_local = keep_local
        self._backend = get_backend(remote) if remote else None
        self._prepare_local(exist_ok)
        if self._backend is not None and remote is not None and not exist_ok:
            existing = self._backend.list_prefix(remote)
            if existing:
                raise FileExistsError(
                    f"Remote {remote!r} is not empty ({len(existing)} objects, e.g. "
                    f"{existing[0]!r}); pass exist_ok=True or choose an empty location"
                )

    def _prepare_local(self, exist_ok: bool) -> None:
        if os.path.isdir(self.local) and os.listdir(self.local):
            if not exist_ok:
                raise FileExistsError(
                    f"Directory is not empty: {self.local!r}; pass exist_ok=True to replace it"
                )
            shutil.rmtree(self.local)
        os.makedirs(self.local, exist_ok=True)

    def upload(self, basename: str) -> None:
        """Upload the local file `basename` to the remote (no-op without a remote)."""
        if self._backend is None or self.remote is None:
            return
        local_path = os.path.join(self.local, basename)
        remote_url = self.remote.rstrip("/") + "/" + basename
        self._backend.upload_file(local_path, remote_url)
        self._uploaded.append(local_path)

    def finish(self) -> None:
        """Without `keep_local`, remove the uploaded files (and a temporary staging directory)."""
        if self.remote is None or self.keep_local:
            return
        if self._temporary:
            shutil.rmtree(self.local, ignore_errors=True)
            return
        for path in self._uploaded:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


def get_uploader(
    out: str | tuple[str, str], keep_local: bool = False, exist_ok: bool = False
) -> Uploader:
    """Create the `Uploader` for a writer's `out`."""
    return Uploader(out, keep_local=keep_local, exist_ok=exist_ok)
