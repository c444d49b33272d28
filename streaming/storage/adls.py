"""Azure Data Lake Storage Gen2 through azure-storage-file-datalake.

Two URL forms:

* ``azure-dl://<filesystem>/<path>``: mosaicml-streaming's; the account comes from the
  credential settings below.
* ``abfs://<filesystem>@<account>.dfs.core.windows.net/<path>`` (or ``abfss://``): the form
  Hadoop, Spark and fsspec use; the account is in the URL.

Credentials, the first that applies (the same as ``azure://``, `streaming.storage.azure`):

1. ``AZURE_STORAGE_CONNECTION_STRING`` (for an ``abfs://`` URL, only if it names the URL's
   account); its ``BlobEndpoint`` serves both APIs of the account, as in the SDK;
2. ``AZURE_ACCOUNT_NAME`` and ``AZURE_ACCOUNT_ACCESS_KEY`` (the peer's variables): a shared key
   for ``https://<account>.dfs.core.windows.net``;
3. ``DefaultAzureCredential``, when the optional package ``azure-identity`` is installed;
4. otherwise anonymous access.

The SDK downloads through the account's Blob API, in ranged GETs of 8 MiB, each request given
only the time left before the download's deadline (the same hook as ``azure://``) and the clock
checked between chunks; the SDK's own retries are off for transfers (our loop retries). An upload
creates the file, appends the bytes and flushes them (the DFS API), replacing any file there;
the file appears only at the flush, whole. Listing is the recursive path listing of the DFS API;
a missing directory lists as empty.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from azure.core.exceptions import AzureError, ClientAuthenticationError, ResourceNotFoundError
from azure.storage.filedatalake import DataLakeServiceClient

from streaming.storage.azure import (
    _CREDENTIAL_HELP,
    _connection_string_account,
    _download,
    _Settings,
    account_credential,
    cached_client,
    client_options,
)
from streaming.storage.base import (
    Backend,
    ObjectNotFoundError,
    StorageAuthError,
    StorageError,
    atomic_download_path,
    copy_chunks,
)

__all__ = ["ADLSBackend", "ADLSLocation", "parse_adls_url"]


@dataclass(frozen=True)
class ADLSLocation:
    """Where a Data Lake URL points: the account (None: from the settings), the filesystem,
    and the path inside it (may be empty)."""

    account: str | None
    filesystem: str
    path: str


def parse_adls_url(url: str) -> ADLSLocation:
    """Split ``azure-dl://<filesystem>/<path>`` or
    ``abfs[s]://<filesystem>@<account>.dfs.core.windows.net/<path>``."""
    parts = urlsplit(url)
    path = unquote(parts.path).lstrip("/")
    if parts.scheme == "azure-dl" and parts.netloc and "@" not in parts.netloc:
        return ADLSLocation(None, parts.netloc, path)
    if parts.scheme in ("abfs", "abfss") and "@" in parts.netloc:
        filesystem, _, host = parts.netloc.partition("@")
        account = host.split(".", 1)[0]
        if filesystem and account:
            return ADLSLocation(account, filesystem, path)
    raise ValueError(
        f"Not an Azure Data Lake URL: {url!r}; expected azure-dl://<filesystem>/<path> or "
        "abfs://<filesystem>@<account>.dfs.core.windows.net/<path>"
    )


def _make_service(account: str | None, settings: _Settings, url: str) -> DataLakeServiceClient:
    options = client_options()
    conn, name, key = settings.connection_string, settings.account_name, settings.account_key
    if conn and (account is None or _connection_string_account(conn) == account):
        return DataLakeServiceClient.from_connection_string(conn, **options)
    if account is None:
        if not name:
            raise StorageAuthError(
                f"Cannot access {url}: no Azure account is configured; {_CREDENTIAL_HELP}, or "
                "name the account in the URL "
                "(abfs://<filesystem>@<account>.dfs.core.windows.net/<path>)"
            )
        account = name
    elif name != account:
        key = None  # the key belongs to another account
    return DataLakeServiceClient(
        f"https://{account}.dfs.core.windows.net",
        credential=account_credential(account, key),
        **options,
    )


def _map_error(error: AzureError, what: str, url: str, loc: ADLSLocation) -> StorageError:
    """The storage error for an SDK error: permanent for 404/401/403, transient otherwise."""
    status = getattr(error, "status_code", None)
    code = getattr(error, "error_code", None)
    code = str(getattr(code, "value", code) or status)
    if isinstance(error, ResourceNotFoundError) or status == 404:
        if code in ("FilesystemNotFound", "ContainerNotFound"):
            return ObjectNotFoundError(
                f"{what} {url} failed: Data Lake filesystem {loc.filesystem!r} does not exist"
            )
        return ObjectNotFoundError(f"{what} {url} failed: no such file ({code})")
    if isinstance(error, ClientAuthenticationError) or status in (401, 403):
        return StorageAuthError(
            f"{what} {url} failed: Azure refused the credentials ({code}); {_CREDENTIAL_HELP}"
        )
    return StorageError(f"{what} {url} failed: {type(error).__name__}: {error}")


class ADLSBackend(Backend):
    """``azure-dl://`` and ``abfs[s]://`` URLs (see the module docstring for the settings)."""

    schemes = ("azure-dl", "abfs", "abfss")

    def __init__(self) -> None:
        self._clients: dict[tuple[str | None, _Settings], DataLakeServiceClient] = {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._clients = {}

    def _service(self, loc: ADLSLocation, url: str) -> DataLakeServiceClient:
        settings = _Settings.from_environment()
        return cached_client(
            self._clients,
            (loc.account, settings),
            lambda: _make_service(loc.account, settings, url),
            url,
        )

    def _file(self, url: str) -> tuple[Any, ADLSLocation]:
        loc = parse_adls_url(url)
        if not loc.path:
            raise ValueError(f"Data Lake URL {url!r} names no file")
        return self._service(loc, url).get_file_client(loc.filesystem, loc.path), loc

    def download_file(self, remote_url: str, local_path: str, timeout: float = 60) -> None:
        """Stream the file into `local_path` (atomically) within `timeout` seconds."""
        started = time.monotonic()
        file, loc = self._file(remote_url)
        bound = _download.set((started + timeout, remote_url, timeout))
        try:
            with atomic_download_path(local_path) as tmp:
                try:
                    stream = file.download_file(max_concurrency=1, retry_total=0)
                    with open(tmp, "wb") as out:
                        copy_chunks(
                            stream.chunks(), out, remote_url, timeout, stream.size, started=started
                        )
                except AzureError as e:
                    raise _map_error(e, "Download of", remote_url, loc) from e
        finally:
            _download.reset(bound)

    def upload_file(self, local_path: str, remote_url: str) -> None:
        """Create (or replace) the file, append the bytes, flush them."""
        file, loc = self._file(remote_url)
        try:
            size = os.path.getsize(local_path)
            if size == 0:  # upload_data sends nothing at all for no bytes
                file.create_file(retry_total=0)
                return
            with open(local_path, "rb") as f:
                file.upload_data(f, length=size, overwrite=True, max_concurrency=1, retry_total=0)
        except AzureError as e:
            raise _map_error(e, f"Upload of {local_path} to", remote_url, loc) from e

    def list_prefix(self, remote_url: str) -> list[str]:
        """Every file under the directory `remote_url`, relative to it, sorted."""
        loc = parse_adls_url(remote_url)
        prefix = loc.path.strip("/")
        fs = self._service(loc, remote_url).get_file_system_client(loc.filesystem)
        try:
            names = [
                p.name
                for p in fs.get_paths(path=prefix or None, recursive=True)
                if not p.is_directory
            ]
        except ResourceNotFoundError as e:
            if getattr(e, "error_code", None) == "PathNotFound":
                return []
            raise _map_error(e, "Listing of", remote_url, loc) from e
        except AzureError as e:
            raise _map_error(e, "Listing of", remote_url, loc) from e
        cut = len(prefix) + 1 if prefix else 0
        return sorted(name[cut:] for name in names)

    def exists(self, remote_url: str) -> bool:
        """Whether a file is at `remote_url` (False as well when the filesystem is missing)."""
        file, loc = self._file(remote_url)
        try:
            return bool(file.exists())
        except AzureError as e:
            raise _map_error(e, "Existence check of", remote_url, loc) from e
