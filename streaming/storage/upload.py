"""Where a writer's finished files go: a local directory, optionally mirrored to a remote.

A writer's `out` is one of:
- a local path: files are written there and nothing is uploaded;
- a remote URL (``s3://bucket/dir``): files are written to a fresh temporary directory and
  uploaded one by one; the temporary directory is removed at the end unless `keep_local`;
- a ``(local, remote)`` pair: files are written to `local` and uploaded to `remote`.

Uploads go through the backend of the remote's URL scheme (`streaming.storage.registry`), with
retries (`streaming.storage.download.upload`).
"""

from __future__ import annotations

import os
import shutil
import tempfile

from streaming.storage.download import upload
from streaming.storage.registry import get_backend, is_remote_url


class Uploader:
    """A writer's output location: the local directory it writes, and the remote it mirrors to.

    Args:
        out: a local path, a remote URL, or a ``(local, remote)`` pair.
        keep_local: keep the local files after uploading (only matters when there is a remote).
        exist_ok: if the local directory already holds files, delete them first instead of
            raising `FileExistsError`.
        retry: attempts per upload (transient failures are retried with backoff).
    """

    def __init__(
        self,
        out: str | tuple[str, str],
        keep_local: bool = False,
        exist_ok: bool = False,
        retry: int = 2,
    ) -> None:
        self.retry = max(1, retry)
        self._temporary = False
        self._uploaded: list[str] = []
        if isinstance(out, (tuple, list)):
            if len(out) != 2:
                raise ValueError(
                    f"out must be a path, a URL or a (local, remote) pair, got {out!r}"
                )
            local, remote = out
        elif isinstance(out, str) and is_remote_url(out):
            local, remote = "", out  # a temporary directory, made once the remote is checked
            self._temporary = True
        elif isinstance(out, (str, os.PathLike)):
            local, remote = os.fspath(out), None
        else:
            raise ValueError(f"out must be a path, a URL or a (local, remote) pair, got {out!r}")
        self.remote: str | None = remote
        self.keep_local = keep_local
        self._backend = get_backend(remote) if remote else None
        if self._backend is not None and remote is not None and not exist_ok:
            existing = self._backend.list_prefix(remote)
            if existing:
                raise FileExistsError(
                    f"Remote {remote!r} is not empty ({len(existing)} objects, e.g. "
                    f"{existing[0]!r}); pass exist_ok=True or choose an empty location"
                )
        if self._temporary:
            local = tempfile.mkdtemp(prefix="streaming-out-")
        self.local: str = os.fspath(local)
        self._prepare_local(exist_ok)

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
        upload(local_path, remote_url, attempts=self.retry)
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


    def abort(self) -> None:
        """After a failure: remove a temporary staging directory unless `keep_local`."""
        if self._temporary and not self.keep_local:
            shutil.rmtree(self.local, ignore_errors=True)


def get_uploader(
    out: str | tuple[str, str], keep_local: bool = False, exist_ok: bool = False, retry: int = 2
) -> Uploader:
    """Create the `Uploader` for a writer's `out`."""
    return Uploader(out, keep_local=keep_local, exist_ok=exist_ok, retry=retry)
