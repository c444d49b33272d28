"""OCI Object Storage (``oci://<bucket>@<namespace>/<path>``), through the ``oci`` SDK.

Settings come from the OCI config file, read by the SDK's own loader: ``~/.oci/config`` (or the
SDK's ``OCI_CONFIG_FILE`` when that file is absent), profile ``DEFAULT``. The SDK reads no
endpoint setting, so we add one: the key ``streaming_endpoint`` in the profile, e.g.::

    [DEFAULT]
    user=ocid1.user.oc1..<id>
    fingerprint=<fingerprint>
    key_file=~/.oci/oci_api_key.pem
    tenancy=ocid1.tenancy.oc1..<id>
    region=us-ashburn-1
    streaming_endpoint=https://objectstorage.us-ashburn-1.oraclecloud.com

Without it the SDK derives the endpoint from ``region``. A config file reaches every DataLoader
worker, whatever its start method. `configure` overrides the file, the profile or the endpoint
in code; it holds for this process and the workers it forks (spawned workers must call it again,
e.g. in ``worker_init_fn``, or use the config file).

A URL without ``@<namespace>`` uses the tenancy's namespace, asked of the service once.
Downloads and uploads run without the SDK's retries or circuit breaker:
`streaming.storage.download` retries them, with backoff, and fails at once on a missing object
or bucket or refused credentials.
"""

from __future__ import annotations

import mimetypes
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import oci

from streaming.storage.base import (
    Backend,
    DownloadTimeoutError,
    ObjectNotFoundError,
    StorageAuthError,
    StorageError,
    atomic_download_path,
    copy_chunks,
)

__all__ = ["OCIBackend", "OCILocation", "OCISettings", "configure", "parse_oci_url"]

#: The profile key that holds our endpoint setting.
ENDPOINT_KEY = "streaming_endpoint"
#: Seconds to wait for a connection (never more than the download timeout).
CONNECT_TIMEOUT = 10.0
#: Read timeout of uploads, listings and existence checks.
DEFAULT_TIMEOUT = 60.0
#: The most bytes one read of a download returns: the timeout is checked between reads.
CHUNK_BYTES = 1 << 20

_NO_RETRY = oci.retry.NoneRetryStrategy()
#: Listings and existence checks are not retried by our loop, so let the SDK retry them a little.
_LIGHT_RETRY = oci.retry.RetryStrategyBuilder(
    max_attempts=3,
    total_elapsed_time_seconds=30,
    retry_base_sleep_time_seconds=1,
    retry_max_wait_between_calls_seconds=4,
).get_retry_strategy()
#: What a config file the SDK cannot use raises (it reports missing keys as ValueError).
_CONFIG_ERRORS = (
    oci.exceptions.ConfigFileNotFound,
    oci.exceptions.ProfileNotFound,
    oci.exceptions.InvalidConfig,
    oci.exceptions.InvalidKeyFilePath,
    oci.exceptions.InvalidPrivateKey,
    oci.exceptions.MissingPrivateKeyPassphrase,
)


@dataclass(frozen=True)
class OCISettings:
    """Overrides of the OCI config file (None: the SDK's default, or the profile's value).

    Attributes:
        config_file: The config file's path.
        profile: The profile in it.
        endpoint: The Object Storage endpoint (``https://...``), over the profile's
            ``streaming_endpoint`` and the region's default.
    """

    config_file: str | None = None
    profile: str | None = None
    endpoint: str | None = None


_settings = OCISettings()


def configure(
    *, config_file: str | None = None, profile: str | None = None, endpoint: str | None = None
) -> None:
    """Override the OCI settings of this process (and of the workers it forks).

    Args:
        config_file: OCI config file (default ``~/.oci/config``).
        profile: Its profile (default ``DEFAULT``).
        endpoint: Object Storage endpoint, e.g. ``https://objectstorage.<region>.oraclecloud.com``
            or a test server's ``http://127.0.0.1:<port>`` (default: the profile's
            ``streaming_endpoint``, else the region's endpoint).
    """
    global _settings
    _settings = OCISettings(config_file, profile, endpoint)


@dataclass(frozen=True)
class OCILocation:
    """Where an ``oci://`` URL points: bucket, namespace (None: the tenancy's), object name."""

    bucket: str
    namespace: str | None
    name: str


def parse_oci_url(url: str) -> OCILocation:
    """Split ``oci://<bucket>@<namespace>/<path>`` (the namespace may be left out).

    Everything after the bucket is the object name, ``?`` and ``#`` included.
    """
    scheme, _, rest = url.partition("://")
    if scheme != "oci":
        raise ValueError(f"Not an oci:// URL: {url!r}")
    netloc, _, path = rest.partition("/")
    bucket, _, namespace = netloc.partition("@")
    if not bucket:
        raise ValueError(
            f"OCI URL {url!r} names no bucket: expected oci://<bucket>@<namespace>/<path>"
        )
    return OCILocation(bucket, namespace or None, path.lstrip("/"))


def _map_error(error: Exception, what: str, url: str, location: OCILocation) -> StorageError:
    """The storage error for an SDK error: permanent for 404/401/403 and bad config."""
    if isinstance(error, StorageError):
        return error
    if isinstance(error, oci.exceptions.ServiceError):
        if error.status == 404:
            if error.code in ("BucketNotFound", "NamespaceNotFound"):
                where = f" in namespace {location.namespace!r}" if location.namespace else ""
                detail = (
                    f"bucket {location.bucket!r} does not exist{where}, or these credentials "
                    "may not see it"
                )
            else:
                detail = f"no such object ({error.code})"
            return ObjectNotFoundError(f"{what} {url} failed: {detail}")
        if error.status in (401, 403):
            return StorageAuthError(
                f"{what} {url} failed: OCI refused the credentials ({error.code}: "
                f"{error.message}); check the OCI config file's user, fingerprint and key_file"
            )
        return StorageError(
            f"{what} {url} failed: HTTP {error.status} {error.code}: {error.message}"
        )
    if isinstance(error, _CONFIG_ERRORS):
        return StorageAuthError(f"{what} {url} failed: the OCI config is unusable: {error}")
    return StorageError(f"{what} {url} failed: {type(error).__name__}: {error}")


def _timed_reads(raw: Any, deadline: float) -> Iterator[bytes]:
    """The body of a streamed urllib3 response, each socket read given only the time left.

    ``read1`` makes one socket read at a time, so a body that trickles in cannot stretch a
    read past the deadline (`copy_chunks` checks the clock between reads).
    """
    read = getattr(raw, "read1", None) or raw.read  # read1 is urllib3 >= 2
    while True:
        sock = getattr(getattr(raw, "connection", None), "sock", None)
        if sock is not None:
            sock.settimeout(max(0.001, deadline - time.monotonic()))
        chunk = read(CHUNK_BYTES, decode_content=False)
        if not chunk:
            return
        yield chunk


class OCIBackend(Backend):
    """``oci://`` URLs, through the ``oci`` SDK (see the module docstring for the settings).

    Attributes:
        list_page_size: Objects per ListObjects request (the service allows at most 1000).
    """

    schemes = ("oci",)
    list_page_size: int = 1000

    def __init__(self) -> None:
        self._clients: dict[tuple[OCISettings, float], Any] = {}
        self._client_namespaces: dict[OCISettings, str] = {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._clients, self._client_namespaces = {}, {}

    def _client(self, url: str, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """The ObjectStorageClient for the current settings and this read timeout (cached)."""
        settings = _settings
        key = (settings, float(timeout))
        client = self._clients.get(key)
        if client is None:
            try:
                config = oci.config.from_file(
                    settings.config_file or oci.config.DEFAULT_LOCATION,
                    settings.profile or oci.config.DEFAULT_PROFILE,
                )
                client = oci.object_storage.ObjectStorageClient(
                    config,
                    service_endpoint=settings.endpoint or config.get(ENDPOINT_KEY) or None,
                    timeout=(min(CONNECT_TIMEOUT, timeout), timeout),
                    retry_strategy=_NO_RETRY,
                    circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
                )
            except (*_CONFIG_ERRORS, ValueError) as e:
                raise StorageAuthError(
                    f"Cannot access {url}: the OCI config is unusable: {e} (the file is "
                    "~/.oci/config unless streaming.storage.oci.configure names another)"
                ) from e
            client = self._clients.setdefault(key, client)
        return client

    def _namespace(self, location: OCILocation, client: Any) -> str:
        if location.namespace:
            return location.namespace
        settings = _settings
        namespace = self._client_namespaces.get(settings)
        if namespace is None:
            namespace = client.get_namespace(retry_strategy=_LIGHT_RETRY).data
            self._client_namespaces[settings] = namespace
        return namespace

    def download_file(self, remote_url: str, local_path: str, timeout: float = 60) -> None:
        started = time.monotonic()
        location = parse_oci_url(remote_url)
        client = self._client(remote_url, timeout)
        with atomic_download_path(local_path) as tmp:
            try:
                namespace = self._namespace(location, client)
                response = client.get_object(
                    namespace, location.bucket, location.name, retry_strategy=_NO_RETRY
                )
                body = response.data
                try:
                    size = int(response.headers["content-length"])
                    reads = _timed_reads(body.raw, started + timeout)
                    with open(tmp, "wb") as out:
                        copy_chunks(reads, out, remote_url, timeout, size, started=started)
                finally:
                    body.close()
            except Exception as e:
                late = time.monotonic() - started >= timeout
                if late and not isinstance(e, (StorageError, oci.exceptions.ServiceError)):
                    raise DownloadTimeoutError(
                        f"Download of {remote_url} took longer than {timeout} s ({e!r})"
                    ) from e
                raise _map_error(e, "Download of", remote_url, location) from e

    def upload_file(self, local_path: str, remote_url: str) -> None:
        location = parse_oci_url(remote_url)
        client = self._client(remote_url)
        content_type = mimetypes.guess_type(location.name)[0] or "application/octet-stream"
        with open(local_path, "rb") as f:
            try:
                client.put_object(
                    self._namespace(location, client),
                    location.bucket,
                    location.name,
                    f,
                    content_length=os.fstat(f.fileno()).st_size,
                    content_type=content_type,
                    retry_strategy=_NO_RETRY,
                )
            except Exception as e:
                raise _map_error(e, f"Upload of {local_path} to", remote_url, location) from e

    def list_prefix(self, remote_url: str) -> list[str]:
        location = parse_oci_url(remote_url)
        prefix = location.name.strip("/")
        prefix = prefix + "/" if prefix else ""
        client = self._client(remote_url)
        names: list[str] = []
        start = None
        try:
            namespace = self._namespace(location, client)
            while True:
                page = client.list_objects(
                    namespace,
                    location.bucket,
                    prefix=prefix or None,
                    start=start,
                    limit=self.list_page_size,
                    fields="name",
                    retry_strategy=_LIGHT_RETRY,
                ).data
                names += [obj.name[len(prefix) :] for obj in page.objects]
                start = page.next_start_with
                if not start:
                    return sorted(names)
        except Exception as e:
            raise _map_error(e, "Listing of", remote_url, location) from e

    def exists(self, remote_url: str) -> bool:
        location = parse_oci_url(remote_url)
        client = self._client(remote_url)
        try:
            client.head_object(
                self._namespace(location, client),
                location.bucket,
                location.name,
                retry_strategy=_LIGHT_RETRY,
            )
        except oci.exceptions.ServiceError as e:
            if e.status == 404:
                return False
            raise _map_error(e, "Existence check of", remote_url, location) from e
        except Exception as e:
            raise _map_error(e, "Existence check of", remote_url, location) from e
        return True
