"""``streaming.base.storage.upload``: the peer's uploader classes over our `Uploader`.

`CloudUploader.get(out)` returns an uploader for `out` (a local directory, a remote URL, or a
``(local, remote)`` pair); any scheme that `streaming.storage.registry` serves works, so new
backends there work here without change. The named classes (`S3Uploader`, `GCSUploader`...)
are that same uploader for their scheme, kept so the peer's imports and ``isinstance`` checks
work.
"""

from __future__ import annotations

import os
import urllib.parse
from typing import Any

from streaming.base.storage.named import is_served, named_classes, scheme_of, supported
from streaming.storage.upload import Uploader

__all__ = [
    "CloudUploader",
    "S3Uploader",
    "GCSUploader",
    "OCIUploader",
    "HFUploader",
    "AzureUploader",
    "AzureDataLakeUploader",
    "DatabricksUnityCatalogUploader",
    "DBFSUploader",
    "AlipanUploader",
    "LocalUploader",
]


def _remote_of(out: Any) -> str:
    if isinstance(out, (tuple, list)):
        if len(out) != 2:
            raise ValueError(
                f"Invalid `out` argument {out!r}: it is either a string of a local or remote "
                "directory, or a pair [local, remote]"
            )
        return os.fspath(out[1])
    return os.fspath(out)


class CloudUploader:
    """Where a writer's shard files go: written to `local`, then uploaded to `remote` if any.

    Args:
        out: A local directory; a remote URL (files are staged in a temporary directory that
            is removed at the end); or a ``(local, remote)`` pair.
        keep_local: Keep each local file after uploading it.
        progress_bar: Accepted for the peer's callers; no progress bar is shown.
        retry: Attempts per upload (transient failures are retried with backoff).
        exist_ok: Allow a non-empty local directory (and remote), replacing what is there.

    Raises:
        ValueError: `out` is malformed, or no backend serves its scheme.
        FileExistsError: the local directory (or the remote) is not empty and not `exist_ok`.
    """

    def __init__(
        self,
        out: str | tuple[str, str],
        keep_local: bool = False,
        progress_bar: bool = False,
        retry: int = 2,
        exist_ok: bool = False,
    ) -> None:
        self._validate(out)
        self.keep_local = keep_local
        self.progress_bar = progress_bar
        self.retry = retry
        self._uploader = Uploader(out, keep_local=keep_local, exist_ok=exist_ok, retry=retry)
        self.local: str = self._uploader.local
        self.remote: str | None = self._uploader.remote

    @classmethod
    def get(
        cls,
        out: str | tuple[str, str],
        keep_local: bool = False,
        progress_bar: bool = False,
        retry: int = 2,
        exist_ok: bool = False,
    ) -> CloudUploader:
        """The uploader for `out`, chosen by the scheme of its remote part."""
        cls._validate(cls, out)  # type: ignore[arg-type]
        named = _NAMED.get(scheme_of(_remote_of(out)), CloudUploader)
        return named(out, keep_local, progress_bar, retry, exist_ok)

    def _validate(self, out: str | tuple[str, str]) -> None:
        """Raise `ValueError` if `out` is malformed or no backend serves its scheme."""
        remote = _remote_of(out)
        scheme = urllib.parse.urlparse(remote).scheme
        if not is_served(scheme):
            raise ValueError(
                f"Invalid Cloud provider prefix: {scheme} (in {remote!r}); supported: local "
                f"paths, {supported()}"
            )

    def upload_file(self, filename: str) -> None:
        """Upload ``<local>/<filename>`` to ``<remote>/<filename>`` (no-op without a remote),
        then remove the local file unless `keep_local`."""
        if self.remote is None:
            return
        self._uploader.upload(filename)
        self.clear_local(os.path.join(self.local, filename))

    def list_objects(self, prefix: str | None = None) -> list[str]:
        """Names of the objects under the remote directory (or, without a remote, the files
        under the local one), relative to it, sorted, that start with `prefix`."""
        if self.remote is None:
            names = [
                os.path.relpath(os.path.join(d, f), self.local)
                for d, _, files in os.walk(self.local)
                for f in files
            ]
        else:
            names = self._uploader._backend.list_prefix(self.remote)  # type: ignore[union-attr]
        return sorted(n for n in names if n.startswith(prefix or ""))

    def clear_local(self, local: str) -> None:
        """Remove the local file `local`, unless `keep_local`."""
        if not self.keep_local and os.path.isfile(local):
            os.remove(local)


_NAMED: dict[str, type[CloudUploader]] = named_classes(
    CloudUploader, "Uploader", "Uploads a writer's files to {what} ({scheme}).", skip=("sftp",)
)
S3Uploader = _NAMED["s3"]
GCSUploader = _NAMED["gs"]
OCIUploader = _NAMED["oci"]
HFUploader = _NAMED["hf"]
AzureUploader = _NAMED["azure"]
AzureDataLakeUploader = _NAMED["azure-dl"]
DatabricksUnityCatalogUploader = _NAMED["dbfs-uc"]
DBFSUploader = _NAMED["dbfs"]
AlipanUploader = _NAMED["alipan"]
LocalUploader = _NAMED[""]
