"""``streaming.base.storage.download``: the peer's downloader classes over our storage backends.

`CloudDownloader.get(remote)` returns a downloader for the URL's scheme; any scheme that
`streaming.storage.registry` serves works (new backends there work here without change). The
named classes (`S3Downloader`, `GCSDownloader`...) are that same downloader for their scheme,
kept so the peer's imports and ``isinstance`` checks work. Transfers go through our backends
(atomic: a failed download never leaves a partial file at `local`).
"""

from __future__ import annotations

import os
import urllib.parse

from streaming.base.constant import DEFAULT_TIMEOUT
from streaming.storage.download import download as _download
from streaming.storage.registry import SCHEMES

__all__ = [
    "CloudDownloader",
    "S3Downloader",
    "SFTPDownloader",
    "GCSDownloader",
    "OCIDownloader",
    "AzureDownloader",
    "AzureDataLakeDownloader",
    "HFDownloader",
    "DatabricksUnityCatalogDownloader",
    "DBFSDownloader",
    "AlipanDownloader",
    "LocalDownloader",
    "download_file",
]


def _scheme(remote: str) -> str:
    """The URL scheme; ``dbfs:/Volumes/...`` is ``dbfs-uc``, as the peer names it."""
    scheme = urllib.parse.urlparse(remote).scheme
    if scheme == "dbfs" and remote.startswith("dbfs:/Volumes"):
        return "dbfs-uc"
    return scheme


def _backend_scheme(scheme: str) -> str:
    return "dbfs" if scheme == "dbfs-uc" else scheme


def _check_supported(remote: str, scheme: str) -> None:
    if _backend_scheme(scheme) not in SCHEMES:
        supported = ", ".join(f"{s}://" for s in SCHEMES if s)
        raise ValueError(
            f"Unsupported remote path: {remote} (no storage backend for scheme {scheme!r}; "
            f"supported: local paths, {supported})"
        )


class CloudDownloader:
    """Downloads files from one storage scheme to the local filesystem.

    Args:
        scheme: The URL scheme served (``"s3"``, ``""`` for local paths). The named subclasses
            set it themselves.
    """

    #: The scheme of a named subclass (the peer's ``_client_identifier()``).
    client_identifier: str | None = None

    def __init__(self, scheme: str | None = None) -> None:
        scheme = self.client_identifier if scheme is None else scheme
        if scheme is None:
            raise ValueError("CloudDownloader needs a scheme; use CloudDownloader.get(remote)")
        self.scheme = scheme

    @classmethod
    def get(cls, remote_dir: str | None = None) -> CloudDownloader:
        """The downloader for `remote_dir`'s scheme (a `LocalDownloader` for None).

        Raises:
            ValueError: no backend serves the scheme (the message lists those that do).
        """
        if remote_dir is None:
            return LocalDownloader()
        scheme = _scheme(remote_dir)
        _check_supported(remote_dir, scheme)
        named = _NAMED.get(scheme)
        return named() if named is not None else CloudDownloader(scheme)

    @classmethod
    def direct_download(
        cls, remote: str | None, local: str, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        """Download `remote` to `local` with the downloader for its scheme."""
        downloader = cls.get(remote)
        downloader.download(remote, local, timeout)
        downloader.clean_up()

    def download(self, remote: str | None, local: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Download `remote` to `local`, unless `local` already exists.

        Raises:
            ValueError: `local` does not exist and `remote` is empty, or `remote` is not of
                this downloader's scheme.
            streaming.storage.StorageError: the download failed (``ObjectNotFoundError``, also a
                `FileNotFoundError`, for a missing object); the message names the URL.
        """
        if os.path.exists(local):
            return
        if not remote:
            raise ValueError(
                f"No remote given to download {local!r} from, and it does not exist locally: "
                "in the absence of a local dataset, the path to the remote dataset must be given"
            )
        scheme = _scheme(remote)
        if scheme != self.scheme:
            raise ValueError(
                f"Expected remote path to start with url scheme of `{self.scheme}`, got {remote}."
            )
        _check_supported(remote, scheme)
        _download(remote, local, attempts=1, timeout=timeout)

    def clean_up(self) -> None:
        """Nothing to release: backends and their clients are shared per process."""

    def _client_identifier(self) -> str:
        return self.scheme

    def __repr__(self) -> str:
        return f"{type(self).__name__}(scheme={self.scheme!r})"


def _named(name: str, scheme: str, what: str) -> type[CloudDownloader]:
    doc = f"Downloads files from {what} (``{scheme}://``) to the local filesystem."
    cls = type(name, (CloudDownloader,), {"client_identifier": scheme, "__doc__": doc})
    cls.__module__ = __name__
    return cls


S3Downloader = _named("S3Downloader", "s3", "AWS S3 and S3-compatible stores")
SFTPDownloader = _named("SFTPDownloader", "sftp", "an SFTP server")
GCSDownloader = _named("GCSDownloader", "gs", "Google Cloud Storage")
OCIDownloader = _named("OCIDownloader", "oci", "OCI Object Storage")
HFDownloader = _named("HFDownloader", "hf", "Hugging Face Hub datasets")
AzureDownloader = _named("AzureDownloader", "azure", "Azure Blob Storage")
AzureDataLakeDownloader = _named("AzureDataLakeDownloader", "azure-dl", "Azure Data Lake")
DatabricksUnityCatalogDownloader = _named(
    "DatabricksUnityCatalogDownloader", "dbfs-uc", "Databricks Unity Catalog volumes"
)
DBFSDownloader = _named("DBFSDownloader", "dbfs", "the Databricks File System")
AlipanDownloader = _named("AlipanDownloader", "alipan", "Alipan")
LocalDownloader = _named("LocalDownloader", "", "a local path")

_NAMED: dict[str, type[CloudDownloader]] = {
    cls.client_identifier: cls  # type: ignore[misc]
    for cls in (
        S3Downloader, SFTPDownloader, GCSDownloader, OCIDownloader, HFDownloader,
        AzureDownloader, AzureDataLakeDownloader, DatabricksUnityCatalogDownloader,
        DBFSDownloader, AlipanDownloader, LocalDownloader,
    )
}  # fmt: skip


def download_file(remote: str | None, local: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Download `remote` (any supported URL or a local path) to `local`, unless `local` exists.

    The function of earlier mosaicml-streaming releases; the same as
    ``CloudDownloader.direct_download(remote, local, timeout)``.
    """
    CloudDownloader.direct_download(remote, local, timeout)
