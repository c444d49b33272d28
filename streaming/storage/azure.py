"""Azure Blob Storage (``azure://``), through azure-storage-blob.

The container sits in the URL's host for reading and writing alike (the peer reads it from the
first path component but writes it from the host; we settled on one place):

* ``azure://<container>/<path>``: the account comes from the credential settings below.
* ``azure://<account>.blob.core.windows.net/<container>/<path>``: the peer's reading form. A host
  with a dot is an account host, which is unambiguous because container names cannot hold dots.

Credentials, the first that applies:

1. ``AZURE_STORAGE_CONNECTION_STRING``, the variable Azure documents (the SDK does not read it
   by itself, so we do). It serves ``azure://<container>/...`` URLs, and account-host URLs that
   name its own account.
2. ``AZURE_ACCOUNT_NAME`` and ``AZURE_ACCOUNT_ACCESS_KEY`` (the peer's variables): a shared key
   for ``https://<account>.blob.core.windows.net``.
3. ``DefaultAzureCredential``, when the optional package ``azure-identity`` is installed (it is
   not a dependency of ours).
4. Otherwise anonymous access, which reads public containers.

Downloads and uploads run without the SDK's own retries: `streaming.storage.download` retries
them, with backoff, and fails at once on a missing blob or container or refused credentials.
The download timeout bounds each download: every request of it gets only the time left as its
connect and read timeouts, and the clock is checked between chunks. Two slacks remain, both
inside the SDK: the one-second pause before it re-requests a chunk whose body broke off, and a
body that trickles in without ever pausing that long, which runs to the end of its chunk.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import AzureError, ClientAuthenticationError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ExponentialRetry

from streaming.storage.base import (
    Backend,
    DownloadTimeoutError,
    ObjectNotFoundError,
    StorageAuthError,
    StorageError,
    atomic_download_path,
    copy_chunks,
)

__all__ = ["AzureBackend", "AzureLocation", "parse_azure_url"]

#: Seconds to wait for a connection (never more than the download timeout).
CONNECT_TIMEOUT = 20.0
#: Bytes per ranged GET: the download timeout is checked between chunks.
CHUNK_BYTES = 8 << 20

#: The download running on this thread: (deadline on the monotonic clock, URL, timeout).
_download: ContextVar[tuple[float, str, float] | None] = ContextVar("_download", default=None)

_CREDENTIAL_HELP = (
    "set AZURE_STORAGE_CONNECTION_STRING, or AZURE_ACCOUNT_NAME and AZURE_ACCOUNT_ACCESS_KEY"
)


@dataclass(frozen=True)
class AzureLocation:
    """Where an ``azure://`` URL points.

    Attributes:
        account_host: ``<account>.blob.core.windows.net`` for the peer's account-host form, or
            None when the account comes from the credential settings.
        container: The container.
        blob: The blob name (or prefix) inside the container; may be empty.
    """

    account_host: str | None
    container: str
    blob: str


def parse_azure_url(url: str) -> AzureLocation:
    """Split ``azure://<container>/<path>`` or ``azure://<account host>/<container>/<path>``.

    Everything after the container is the blob name, ``?`` and ``#`` included.
    """
    scheme, _, rest = url.partition("://")
    if scheme != "azure":
        raise ValueError(f"Not an azure:// URL: {url!r}")
    netloc, _, path = rest.partition("/")
    path = path.lstrip("/")
    if "." in netloc:
        container, _, blob = path.partition("/")
        location = AzureLocation(netloc, container, blob)
    else:
        location = AzureLocation(None, netloc, path)
    if not location.container:
        raise ValueError(
            f"Azure URL {url!r} names no container: expected azure://<container>/<path> or "
            "azure://<account>.blob.core.windows.net/<container>/<path>"
        )
    return location


def _connection_string_account(connection_string: str) -> str | None:
    for part in connection_string.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "accountname":
            return value.strip()
    return None


def _default_credential() -> Any:
    """`DefaultAzureCredential` if azure-identity is installed, else None (anonymous)."""
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        return None
    return DefaultAzureCredential()


@dataclass(frozen=True)
class _Settings:
    """The credential variables, read at each call (secrets kept out of the repr)."""

    connection_string: str | None = field(repr=False)
    account_name: str | None
    account_key: str | None = field(repr=False)

    @classmethod
    def from_environment(cls) -> _Settings:
        env = os.environ
        return cls(
            env.get("AZURE_STORAGE_CONNECTION_STRING") or None,
            env.get("AZURE_ACCOUNT_NAME") or None,
            env.get("AZURE_ACCOUNT_ACCESS_KEY") or None,
        )


def client_options() -> dict[str, Any]:
    """The SDK client options of both Azure backends (Blob and Data Lake)."""
    return {
        # Only listings and existence checks use these; transfers retry in our own loop.
        "retry_policy": ExponentialRetry(
            initial_backoff=1, increment_base=2, retry_total=2, random_jitter_range=1
        ),
        "connection_timeout": CONNECT_TIMEOUT,
        "max_single_get_size": CHUNK_BYTES,
        "max_chunk_get_size": CHUNK_BYTES,
        "raw_request_hook": _bound_request,
    }


def account_credential(name: str | None, key: str | None) -> Any:
    """The account key where one is set for this account, else the default credential chain."""
    return {"account_name": name, "account_key": key} if key else _default_credential()


def cached_client(clients: dict, key: Any, make: Callable[[], Any], url: str) -> Any:
    """The client cached under `key` in `clients`, made by `make` on first use (a malformed
    connection string or account URL is a `StorageAuthError` naming `url`)."""
    client = clients.get(key)
    if client is None:
        try:
            client = make()
        except ValueError as e:
            raise StorageAuthError(f"Cannot access {url}: bad Azure settings: {e}") from e
        client = clients.setdefault(key, client)
    return client


def _make_service(account_host: str | None, settings: _Settings, url: str) -> BlobServiceClient:
    options = client_options()
    connection_string, name, key = (
        settings.connection_string,
        settings.account_name,
        settings.account_key,
    )
    if account_host is None:
        if connection_string:
            return BlobServiceClient.from_connection_string(connection_string, **options)
        if not name:
            raise StorageAuthError(
                f"Cannot access {url}: no Azure account is configured; {_CREDENTIAL_HELP}, "
                "or name the account in the URL "
                "(azure://<account>.blob.core.windows.net/<container>/<path>)"
            )
        account_url = f"https://{name}.blob.core.windows.net"
    else:
        account = account_host.split(".", 1)[0]
        if connection_string and _connection_string_account(connection_string) == account:
            return BlobServiceClient.from_connection_string(connection_string, **options)
        account_url, name = f"https://{account_host}", name or account
        if name != account:
            key = None  # the key belongs to another account
    return BlobServiceClient(account_url, credential=account_credential(name, key), **options)


def _bound_request(request: Any) -> None:
    """Give each request of a download only the time left of its bound.

    The SDK re-requests a chunk whose body breaks off (three tries, a second apart) and reads
    each socket with the client's fixed timeout; this hook, run before every request, shrinks
    the connect and read timeouts to what is left and stops once nothing is.
    """
    current = _download.get()
    if current is None:
        return
    deadline, url, timeout = current
    left = deadline - time.monotonic()
    if left <= 0:
        raise DownloadTimeoutError(f"Download of {url} took longer than {timeout} s")
    request.context.options["connection_timeout"] = min(left, CONNECT_TIMEOUT)
    request.context.options["read_timeout"] = left


def _map_error(error: AzureError, what: str, url: str, location: AzureLocation) -> StorageError:
    """The storage error for an SDK error: permanent for 404/401/403, transient otherwise."""
    status = getattr(error, "status_code", None)
    code = getattr(error, "error_code", None)
    code = getattr(code, "value", code)  # a StorageErrorCode member, or the raw string
    if isinstance(error, ResourceNotFoundError) or status == 404:
        if str(code) == "ContainerNotFound":
            return ObjectNotFoundError(
                f"{what} {url} failed: Azure container {location.container!r} does not exist"
            )
        return ObjectNotFoundError(f"{what} {url} failed: no such blob ({code or status})")
    if isinstance(error, ClientAuthenticationError) or status in (401, 403):
        return StorageAuthError(
            f"{what} {url} failed: Azure refused the credentials ({code or status}); "
            f"{_CREDENTIAL_HELP}"
        )
    return StorageError(f"{what} {url} failed: {type(error).__name__}: {error}")


class AzureBackend(Backend):
    """``azure://`` URLs, through azure-storage-blob (see the module docstring for the settings).

    Attributes:
        list_page_size: Blobs per listing request.
    """

    schemes = ("azure",)
    list_page_size: int = 5000

    def __init__(self) -> None:
        self._clients: dict[tuple[str | None, _Settings], BlobServiceClient] = {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._clients = {}

    # -- clients ------------------------------------------------------------------------------

    def _service(self, location: AzureLocation, url: str) -> BlobServiceClient:
        """The service client for the location's account, cached per credential settings (so a
        changed variable takes effect on the next call)."""
        settings = _Settings.from_environment()
        return cached_client(
            self._clients,
            (location.account_host, settings),
            lambda: _make_service(location.account_host, settings, url),
            url,
        )

    # -- the four operations ------------------------------------------------------------------

    def download_file(self, remote_url: str, local_path: str, timeout: float = 60) -> None:
        started = time.monotonic()
        location = parse_azure_url(remote_url)
        blob = self._service(location, remote_url).get_blob_client(
            location.container, location.blob
        )
        bound = _download.set((started + timeout, remote_url, timeout))
        try:
            with atomic_download_path(local_path) as tmp:
                try:
                    stream = blob.download_blob(max_concurrency=1, retry_total=0)
                    with open(tmp, "wb") as out:
                        copy_chunks(
                            stream.chunks(), out, remote_url, timeout, stream.size, started=started
                        )
                except AzureError as e:
                    raise _map_error(e, "Download of", remote_url, location) from e
        finally:
            _download.reset(bound)

    def upload_file(self, local_path: str, remote_url: str) -> None:
        location = parse_azure_url(remote_url)
        blob = self._service(location, remote_url).get_blob_client(
            location.container, location.blob
        )
        with open(local_path, "rb") as f:
            try:
                blob.upload_blob(
                    f,
                    length=os.fstat(f.fileno()).st_size,
                    overwrite=True,
                    max_concurrency=1,
                    retry_total=0,
                )
            except AzureError as e:
                raise _map_error(e, f"Upload of {local_path} to", remote_url, location) from e

    def list_prefix(self, remote_url: str) -> list[str]:
        location = parse_azure_url(remote_url)
        prefix = location.blob.strip("/")
        prefix = prefix + "/" if prefix else ""
        container = self._service(location, remote_url).get_container_client(location.container)
        try:
            names = [
                blob.name[len(prefix) :]
                for blob in container.list_blobs(
                    name_starts_with=prefix or None, results_per_page=self.list_page_size
                )
            ]
        except AzureError as e:
            raise _map_error(e, "Listing of", remote_url, location) from e
        return sorted(names)

    def exists(self, remote_url: str) -> bool:
        location = parse_azure_url(remote_url)
        blob = self._service(location, remote_url).get_blob_client(
            location.container, location.blob
        )
        try:
            return bool(blob.exists())
        except AzureError as e:
            raise _map_error(e, "Existence check of", remote_url, location) from e
