"""``streaming.base.storage.download``: the peer's downloader classes over our storage backends.

`CloudDownloader.get(remote)` returns a downloader for the URL's scheme; any scheme that
`streaming.storage.registry` serves works (new backends there work here without change). The
named classes (`S3Downloader`, `GCSDownloader`...) are that same downloader for their scheme,
kept so the peer's imports and ``isinstance`` checks work. Transfers go through our backends
(atomic: a failed download never leaves a partial file at `local`).
"""

from __future__ import annotations

import os

from streaming.base.constant import DEFAULT_TIMEOUT
from streaming.base.storage.named import is_served, named_classes, scheme_of, supported
from streaming.storage.download import download as _download

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


def _check_supported(remote: str, scheme: str) -> None:
    if not is_served(scheme):
        raise ValueError(
            f"Unsupported remote path: {remote} (no storage backend for scheme {scheme!r}; "
            f"supported: local paths, {supported()})"
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
        scheme = scheme_of(remote_dir)
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
        scheme = scheme_of(remote)
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


_NAMED: dict[str, type[CloudDownloader]] = named_classes(
    CloudDownloader, "Downloader", "Downloads files from {what} ({scheme}) to the local filesystem."
)
S3Downloader = _NAMED["s3"]
SFTPDownloader = _NAMED["sftp"]
GCSDownloader = _NAMED["gs"]
OCIDownloader = _NAMED["oci"]
HFDownloader = _NAMED["hf"]
AzureDownloader = _NAMED["azure"]
AzureDataLakeDownloader = _NAMED["azure-dl"]
DatabricksUnityCatalogDownloader = _NAMED["dbfs-uc"]
DBFSDownloader = _NAMED["dbfs"]
AlipanDownloader = _NAMED["alipan"]
LocalDownloader = _NAMED[""]


def download_file(remote: str | None, local: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Download `remote` (any supported URL or a local path) to `local`, unless `local` exists.

    The function of earlier mosaicml-streaming releases; the same as
    ``CloudDownloader.direct_download(remote, local, timeout)``.
    """
    CloudDownloader.direct_download(remote, local, timeout)
