"""``s3://bucket/key`` through boto3: AWS S3 and S3-compatible stores (R2, MinIO, moto...).

Configuration is boto3's own (credentials chain, ``AWS_ENDPOINT_URL``, ``AWS_DEFAULT_REGION``...)
plus, for compatibility with mosaicml-streaming:

* ``S3_ENDPOINT_URL``: endpoint of an S3-compatible store (wins over ``AWS_ENDPOINT_URL``);
* ``MOSAICML_STREAMING_AWS_REQUESTER_PAYS=bucket1,bucket2``: buckets whose requests carry
  ``RequestPayer=requester``;
* ``S3_CANNED_ACL``: ACL given to uploaded objects (``public-read``...).

Without any credentials, requests go out unsigned, which reads public buckets.

A download is one ``GetObject`` streamed in 1 MiB pieces (a single connection: on a few cores,
boto3's threaded transfer is several times slower). botocore's own retries are off (the caller's
retry loop, `streaming.storage.download.retry`, owns retries), its socket timeouts come from the
download's `timeout`, and a watchdog shuts the socket down when the whole download passes it,
so `timeout` bounds the download even when bytes trickle in.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import urlparse

import boto3
from boto3.s3.transfer import TransferConfig
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    NoCredentialsError,
    ReadTimeoutError,
)

from streaming.storage.base import (
    Backend,
    DownloadTimeoutError,
    ObjectNotFoundError,
    StorageAuthError,
    StorageError,
    atomic_download_path,
    copy_chunks,
)

__all__ = ["S3Backend", "split_s3_url"]

T = TypeVar("T")

_NOT_FOUND = {"NoSuchKey", "NoSuchBucket", "NotFound", "404"}
_AUTH = {
    "AccessDenied", "AllAccessDisabled", "Forbidden", "InvalidAccessKeyId", "InvalidToken",
    "ExpiredToken", "SignatureDoesNotMatch", "TokenRefreshRequired", "401", "403",
}
_CHUNK = 1 << 20
_UPLOAD_TIMEOUT = 300.0  # seconds a PUT may wait for the server's answer


def split_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` -> ``("bucket", "a/b")``."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"Not an s3://bucket/key URL: {url!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def _requester_pays(bucket: str) -> dict[str, str]:
    buckets = os.environ.get("MOSAICML_STREAMING_AWS_REQUESTER_PAYS", "")
    return {"RequestPayer": "requester"} if bucket in buckets.replace(" ", "").split(",") else {}


def _translate(
    err: Exception, url: str, what: str, credentials: str = "the AWS credentials"
) -> Exception:
    """Our error for a boto3 failure on `url`: permanent (not found, refused) or transient."""
    if isinstance(err, StorageError):
        return err
    if isinstance(err, ClientError):
        code = str(err.response.get("Error", {}).get("Code", ""))
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        detail = f"{what} {url} failed: {code or status} ({err})"
        if code in _NOT_FOUND or status == 404:
            bucket = urlparse(url).netloc
            kind = f"bucket {bucket!r} does not exist" if code == "NoSuchBucket" else "no object"
            return ObjectNotFoundError(f"{what} {url} failed: {kind} ({code or status})")
        if code in _AUTH or status in (401, 403):
            return StorageAuthError(
                f"{detail}; check {credentials} and their permissions on this bucket"
            )
        return StorageError(detail)
    if isinstance(err, (ReadTimeoutError, ConnectTimeoutError)) and what == "Download of":
        return DownloadTimeoutError(f"{what} {url} timed out: {err}")
    return StorageError(f"{what} {url} failed: {type(err).__name__}: {err}")


class _Watchdog:
    """Shuts a streaming response's socket down at `deadline`, which unblocks a stuck read."""

    def __init__(self, raw: Any, deadline: float) -> None:
        self.fired = False
        self._raw = raw
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        self.fired = True
        with contextlib.suppress(Exception):  # already finished or released: nothing to stop
            self._raw.shutdown()

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


_CLIENT_ENV = (
    "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_REGION",
)  # fmt: skip


class S3Backend(Backend):
    """``s3://`` URLs through boto3 (see the module docstring for the settings it reads)."""

    schemes = ("s3",)
    #: Objects per ListObjectsV2 page (S3's maximum is 1000).
    list_page_size = 1000
    #: Files larger than this are uploaded in parts of this size.
    multipart_threshold = 256 << 20

    def __init__(self) -> None:
        self._client_lock = threading.Lock()
        self._clients: dict[tuple[Any, ...], Any] = {}
        self._client_unsigned: set[tuple[Any, ...]] = set()  # settings with no credentials

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__init__()  # type: ignore[misc]  # clients are never pickled: start afresh

    # -- what subclasses for other S3-compatible services change (gcs_hmac.py) ----------------

    #: What to check when a request is refused (for error messages).
    credentials_help = "the AWS credentials"
    _split = staticmethod(split_s3_url)

    def _request_args(self, bucket: str) -> dict[str, str]:
        """Extra arguments of every request on `bucket`."""
        return _requester_pays(bucket)

    def _upload_args(self, bucket: str) -> dict[str, str]:
        """Extra arguments of an upload to `bucket`."""
        extra = dict(self._request_args(bucket))
        if os.environ.get("S3_CANNED_ACL"):
            extra["ACL"] = os.environ["S3_CANNED_ACL"]
        return extra

    # -- clients ------------------------------------------------------------------------------

    def _client(self, timeout: float, attempts: int) -> Any:
        """A client for the current settings (endpoint, credentials), this timeout and this
        many attempts per request (1: botocore does not retry)."""
        endpoint = os.environ.get("S3_ENDPOINT_URL") or None
        # What boto3 reads from the environment by itself is part of the key too, so a change
        # of endpoint, profile or keys in this process gets a new client.
        seen = tuple(os.environ.get(name) for name in _CLIENT_ENV)
        forced = seen in self._client_unsigned
        key = (endpoint, seen, float(timeout), attempts, forced)
        client = self._clients.get(key)
        if client is None:
            with self._client_lock:
                client = self._clients.get(key)
                if client is None:
                    client = self._make_client(endpoint, timeout, attempts, forced)
                    self._clients[key] = client
        return client

    def _make_client(
        self, endpoint: str | None, timeout: float, attempts: int, forced: bool = False
    ) -> Any:
        session = boto3.session.Session()  # one per client: sessions are not thread-safe
        unsigned = forced or session.get_credentials() is None
        config = Config(
            connect_timeout=min(float(timeout), 10.0),
            read_timeout=float(timeout),
            retries={"mode": "standard", "total_max_attempts": attempts},
            signature_version=UNSIGNED if unsigned else None,
        )
        return session.client("s3", endpoint_url=endpoint, config=config)

    def _call(
        self, url: str, what: str, timeout: float, op: Callable[[Any], T], attempts: int = 1
    ) -> T:
        """Run `op(client)`, going unsigned if there are no credentials, mapping errors.

        Downloads and uploads make one attempt (the caller's loop retries them); listings and
        existence checks, which no caller loop wraps, keep botocore's standard retries."""
        try:
            try:
                return op(self._client(timeout, attempts))
            except NoCredentialsError:
                # A public bucket: the peer falls back the same way.
                self._client_unsigned.add(tuple(os.environ.get(n) for n in _CLIENT_ENV))
                return op(self._client(timeout, attempts))
        except (ClientError, BotoCoreError, OSError) as e:
            raise _translate(e, url, what, self.credentials_help) from e

    # -- operations ---------------------------------------------------------------------------

    def download_file(self, remote_url: str, local_path: str, timeout: float = 60) -> None:
        """Stream the object into `local_path` (atomically) within `timeout` seconds."""
        bucket, key = self._split(remote_url)
        started = time.monotonic()
        response = self._call(
            remote_url, "Download of", timeout,
            lambda c: c.get_object(Bucket=bucket, Key=key, **self._request_args(bucket)),
        )
        body = response["Body"]
        watchdog = _Watchdog(getattr(body, "_raw_stream", None), started + timeout)
        try:
            with watchdog, atomic_download_path(local_path) as tmp, open(tmp, "wb") as out:
                copy_chunks(
                    body.iter_chunks(_CHUNK), out, remote_url, timeout,
                    expected_size=response.get("ContentLength"), started=started,
                )
        except Exception as e:
            if watchdog.fired:
                raise DownloadTimeoutError(
                    f"Download of {remote_url} took longer than {timeout} s"
                ) from e
            raise _translate(e, remote_url, "Download of", self.credentials_help) from e
        finally:
            body.close()

    def upload_file(self, local_path: str, remote_url: str) -> None:
        """Put the file at `remote_url`: one PUT, or a multipart upload past
        `multipart_threshold` bytes."""
        bucket, key = self._split(remote_url)
        extra = self._upload_args(bucket)
        if os.path.getsize(local_path) <= self.multipart_threshold:
            def put(client: Any) -> None:
                with open(local_path, "rb") as f:
                    client.put_object(Bucket=bucket, Key=key, Body=f, **extra)
        else:
            config = TransferConfig(
                multipart_threshold=self.multipart_threshold,
                multipart_chunksize=self.multipart_threshold,
                use_threads=False,
            )

            def put(client: Any) -> None:
                try:
                    client.upload_file(local_path, bucket, key, ExtraArgs=extra, Config=config)
                except boto3.exceptions.S3UploadFailedError as e:
                    raise (e.__cause__ if isinstance(e.__cause__, ClientError) else e) from e

        self._call(remote_url, f"Upload of {local_path} to", _UPLOAD_TIMEOUT, put)

    def list_prefix(self, remote_url: str) -> list[str]:
        """Every object under the directory `remote_url`, relative to it, sorted."""
        bucket, key = self._split(remote_url)
        prefix = key.rstrip("/") + "/" if key.strip("/") else ""

        def names(client: Any) -> Iterator[str]:
            pages = client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": self.list_page_size},
                **self._request_args(bucket),
            )
            for page in pages:
                for obj in page.get("Contents", ()):
                    yield obj["Key"][len(prefix):]

        return sorted(
            self._call(remote_url, "Listing of", 60, lambda c: list(names(c)), attempts=3)
        )

    def exists(self, remote_url: str) -> bool:
        """Whether an object is at `remote_url` (False as well when the bucket is missing)."""
        bucket, key = self._split(remote_url)
        try:
            self._call(
                remote_url, "HeadObject of", 60,
                lambda c: c.head_object(Bucket=bucket, Key=key, **self._request_args(bucket)),
                attempts=3,
            )
        except ObjectNotFoundError:
            return False
        return True
