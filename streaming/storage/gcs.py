"""``gs://bucket/key`` through google-cloud-storage.

Configuration is the SDK's own: ``STORAGE_EMULATOR_HOST`` (a local emulator), application-default
credentials (``GOOGLE_APPLICATION_CREDENTIALS``, ``gcloud auth application-default login``, the
metadata server). Without credentials, and against an emulator unless
``GOOGLE_APPLICATION_CREDENTIALS`` names some, requests are anonymous, which reads public
buckets. With ``GCS_KEY`` and ``GCS_SECRET`` both set, every operation goes through boto3 to
Cloud Storage's S3-compatible endpoint instead, signed with that HMAC key, as mosaicml-streaming
does (`streaming.storage.gcs_hmac`; needs the ``s3`` extra).

A download is one streamed GET (``raw_download``: the stored bytes, checksummed by the SDK against
the server's crc32c) with the SDK's retries off (the caller's retry loop owns them), socket
timeouts from the download's `timeout`, and the elapsed time checked on every piece written.
Listing and existence checks keep the SDK's own retries (no caller loop wraps them).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, BinaryIO
from urllib.parse import urlparse

import google.auth
import requests
import urllib3.exceptions
from google.api_core import exceptions as api_exceptions
from google.auth.credentials import AnonymousCredentials
from google.auth.exceptions import DefaultCredentialsError, RefreshError
from google.cloud import storage

from streaming.storage.base import (
    Backend,
    DownloadTimeoutError,
    ObjectNotFoundError,
    StorageAuthError,
    StorageError,
    atomic_download_path,
)

__all__ = ["GCSBackend", "split_gs_url"]

_UPLOAD_TIMEOUT = 300.0


def split_gs_url(url: str) -> tuple[str, str]:
    """``gs://bucket/a/b`` -> ``("bucket", "a/b")``."""
    parsed = urlparse(url)
    if parsed.scheme != "gs" or not parsed.netloc:
        raise ValueError(f"Not a gs://bucket/key URL: {url!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def _translate(err: Exception, url: str, what: str) -> Exception:
    """Our error for an SDK failure on `url`: permanent (not found, refused) or transient."""
    if isinstance(err, StorageError):
        return err
    if isinstance(err, api_exceptions.NotFound):
        return ObjectNotFoundError(f"{what} {url} failed: no such object or bucket (404)")
    if isinstance(err, (api_exceptions.Forbidden, api_exceptions.Unauthorized, RefreshError)):
        return StorageAuthError(
            f"{what} {url} failed: {type(err).__name__}: {err}; check the Google credentials "
            "(GOOGLE_APPLICATION_CREDENTIALS or application-default login) and their access"
        )
    timeouts = (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)
    if isinstance(err, timeouts) and what == "Download of":
        return DownloadTimeoutError(f"{what} {url} timed out: {err}")
    return StorageError(f"{what} {url} failed: {type(err).__name__}: {err}")


class _DeadlineWriter:
    """A file wrapper that raises `DownloadTimeoutError` once the download passes its deadline."""

    def __init__(self, out: BinaryIO, url: str, timeout: float, started: float) -> None:
        self.out, self.url, self.timeout, self.started = out, url, timeout, started
        self.written = 0

    def write(self, data: bytes) -> int:
        n = self.out.write(data)
        self.written += len(data)
        if time.monotonic() - self.started > self.timeout:
            raise DownloadTimeoutError(f"Download of {self.url} took longer than {self.timeout} s")
        return n

    def flush(self) -> None:
        self.out.flush()


def _make_client() -> storage.Client:
    emulator = os.environ.get("STORAGE_EMULATOR_HOST")
    if emulator and not os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        return storage.Client(project="<none>", credentials=AnonymousCredentials())
    try:
        credentials, project = google.auth.default(
            scopes=["https://www.googleapis.com/auth/devstorage.full_control"]
        )
    except DefaultCredentialsError:  # no credentials anywhere: public buckets only
        return storage.Client(project="<none>", credentials=AnonymousCredentials())
    return storage.Client(project=project or "<none>", credentials=credentials)


class GCSBackend(Backend):
    """``gs://`` URLs through google-cloud-storage (see the module docstring for settings)."""

    schemes = ("gs",)
    #: Objects per listing page.
    list_page_size = 1000

    def __init__(self) -> None:
        self._client_local = threading.local()  # one client per thread: sessions are not shared

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__init__()  # type: ignore[misc]  # clients are never pickled: start afresh

    def _hmac(self) -> Backend | None:
        """The HMAC-mode backend when ``GCS_KEY`` and ``GCS_SECRET`` are set, else None."""
        from streaming.storage.gcs_hmac import GCSHMACBackend, hmac_configured

        if not hmac_configured():
            return None
        backend = self.__dict__.get("_client_hmac")  # "_client*": dropped when pickled
        if backend is None:
            backend = self.__dict__["_client_hmac"] = GCSHMACBackend()
        return backend

    def _client(self) -> storage.Client:
        key = (os.environ.get("STORAGE_EMULATOR_HOST"),
               os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"))
        local = self._client_local
        if getattr(local, "key", None) != key:
            local.client, local.key = _make_client(), key
        return local.client

    def _blob(self, url: str) -> storage.Blob:
        bucket, name = split_gs_url(url)
        return self._client().bucket(bucket).blob(name)

    def download_file(self, remote_url: str, local_path: str, timeout: float = 60) -> None:
        """Stream the object into `local_path` (atomically) within `timeout` seconds."""
        if (hmac := self._hmac()) is not None:
            return hmac.download_file(remote_url, local_path, timeout)
        started = time.monotonic()
        blob = self._blob(remote_url)
        try:
            with atomic_download_path(local_path) as tmp, open(tmp, "wb") as f:
                blob.download_to_file(
                    _DeadlineWriter(f, remote_url, timeout, started),
                    raw_download=True,
                    timeout=(min(float(timeout), 10.0), float(timeout)),
                    retry=None,
                )
        except Exception as e:
            raise _translate(e, remote_url, "Download of") from e

    def upload_file(self, local_path: str, remote_url: str) -> None:
        """Put the file at `remote_url` (one request, or a resumable upload for large files)."""
        if (hmac := self._hmac()) is not None:
            return hmac.upload_file(local_path, remote_url)
        blob = self._blob(remote_url)
        try:
            blob.upload_from_filename(
                local_path, timeout=_UPLOAD_TIMEOUT, retry=None
            )
        except Exception as e:
            raise _translate(e, remote_url, f"Upload of {local_path} to") from e

    def list_prefix(self, remote_url: str) -> list[str]:
        """Every object under the directory `remote_url`, relative to it, sorted."""
        if (hmac := self._hmac()) is not None:
            return hmac.list_prefix(remote_url)
        bucket, key = split_gs_url(remote_url)
        prefix = key.rstrip("/") + "/" if key.strip("/") else ""
        try:
            blobs = self._client().list_blobs(
                bucket, prefix=prefix, page_size=self.list_page_size, timeout=60
            )
            return sorted(blob.name[len(prefix):] for blob in blobs)
        except Exception as e:
            raise _translate(e, remote_url, "Listing of") from e

    def exists(self, remote_url: str) -> bool:
        """Whether an object is at `remote_url` (False as well when the bucket is missing)."""
        if (hmac := self._hmac()) is not None:
            return hmac.exists(remote_url)
        blob = self._blob(remote_url)
        try:
            return bool(blob.exists(timeout=60))
        except Exception as e:
            raise _translate(e, remote_url, "Existence check of") from e
