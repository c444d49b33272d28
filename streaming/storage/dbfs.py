"""``dbfs:/Volumes/<catalog>/<schema>/<volume>/<path>`` (Unity Catalog volumes) and
``dbfs:/<path>`` (the Databricks File System), through databricks-sdk.

Configuration is the SDK's own (its unified authentication): ``DATABRICKS_HOST`` with
``DATABRICKS_TOKEN``, or a profile of ``~/.databrickscfg`` (``DATABRICKS_CONFIG_PROFILE``), or any
other method the SDK finds, as mosaicml-streaming does with ``WorkspaceClient()``.

Volumes go through the Files API: a download is one streamed GET read in 1 MiB pieces (each
socket read waits at most the download's timeout, and the clock is checked after each piece),
an upload one PUT of the whole file that replaces any file there, a listing a walk of the
directory listing. Other ``dbfs:/`` paths go through the DBFS API, as the peer writes them: a
download reads 1 MiB blocks by offset (the API's limit), an upload writes 1 MiB blocks through a
handle (create, add-block, close; the file is whole at close). The SDK's own retries are kept
within one second for transfers (our loop retries them) and left as they are for listings.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
import urllib3
from databricks.sdk import WorkspaceClient
from databricks.sdk.config import Config
from databricks.sdk.errors import DatabricksError, NotFound, PermissionDenied, Unauthenticated
from databricks.sdk.service.files import DbfsAPI, FilesAPI

from streaming.storage.base import (
    Backend,
    DownloadTimeoutError,
    ObjectNotFoundError,
    StorageAuthError,
    StorageError,
    atomic_download_path,
    copy_chunks,
)

__all__ = ["DBFSBackend", "parse_dbfs_url"]

_BLOCK = 1 << 20  # the DBFS API's largest read and add-block
_LIST_TIMEOUT = 60.0
_SETTINGS_ENV = ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE",
                 "DATABRICKS_CONFIG_FILE", "DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET",
                 "DATABRICKS_AUTH_TYPE")


def parse_dbfs_url(url: str) -> str:
    """The absolute path of ``dbfs:/<path>`` (or ``dbfs:///<path>``)."""
    parts = urlsplit(url)
    if parts.scheme != "dbfs" or parts.netloc or not parts.path.startswith("/"):
        raise ValueError(
            f"Not a Databricks URL: {url!r}; expected dbfs:/Volumes/<catalog>/<schema>/<volume>/"
            "<path> or dbfs:/<path>"
        )
    return unquote(parts.path)


def _is_volume(path: str) -> bool:
    return path == "/Volumes" or path.startswith("/Volumes/")


def _is_timeout(err: BaseException) -> bool:
    """Whether a socket read or connect timed out somewhere in `err` (requests reports a read
    timeout of a streamed body as a ConnectionError wrapping urllib3's)."""
    kinds = (TimeoutError, requests.exceptions.Timeout, urllib3.exceptions.TimeoutError)
    seen: list[BaseException] = []
    pending: list[object] = [err]
    while pending:
        item = pending.pop()
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        if isinstance(item, kinds):
            return True
        seen.append(item)
        pending.extend([item.__cause__, item.__context__, *item.args[:1]])
    return False


def _translate(err: BaseException, url: str, what: str) -> Exception:
    """Our error for an SDK failure on `url`."""
    if isinstance(err, StorageError):
        return err
    if isinstance(err, NotFound):
        return ObjectNotFoundError(f"{what} {url} failed: not found ({err})")
    if isinstance(err, (PermissionDenied, Unauthenticated)):
        return StorageAuthError(
            f"{what} {url} failed: {type(err).__name__}: {err}; check DATABRICKS_HOST and the "
            "credentials (DATABRICKS_TOKEN or a profile) and their access to this path (Unity "
            "Catalog paths start with dbfs:/Volumes)"
        )
    if what == "Download of" and _is_timeout(err):
        return DownloadTimeoutError(f"{what} {url} timed out: {err}")
    return StorageError(f"{what} {url} failed: {type(err).__name__}: {err}")


class DBFSBackend(Backend):
    """``dbfs:/`` URLs through databricks-sdk (see the module docstring for the settings)."""

    schemes = ("dbfs",)

    def __init__(self) -> None:
        self._client_lock = threading.Lock()
        self._clients: dict[tuple[Any, ...], WorkspaceClient] = {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__init__()  # type: ignore[misc]  # clients are never pickled: start afresh

    def _workspace(self, timeout: float, transfer: bool) -> WorkspaceClient:
        key = (tuple(os.environ.get(n) for n in _SETTINGS_ENV), float(timeout), transfer)
        with self._client_lock:
            client = self._clients.get(key)
            if client is None:
                config = Config(http_timeout_seconds=float(timeout),
                                retry_timeout_seconds=1 if transfer else 60)
                client = self._clients[key] = WorkspaceClient(config=config)
        return client

    def _apis(self, url: str, what: str, timeout: float,
              transfer: bool) -> tuple[FilesAPI, DbfsAPI]:
        try:
            client = self._workspace(timeout, transfer).api_client
        except (ValueError, DatabricksError) as e:  # no host or credentials found
            raise StorageAuthError(
                f"{what} {url} failed: no Databricks workspace is configured ({e}); set "
                "DATABRICKS_HOST and DATABRICKS_TOKEN, or a profile in ~/.databrickscfg"
            ) from e
        return FilesAPI(client), DbfsAPI(client)

    # -- the four operations ----------------------------------------------------------------

    def download_file(self, remote_url: str, local_path: str, timeout: float = 60) -> None:
        """Stream the file into `local_path` (atomically) within `timeout` seconds."""
        started = time.monotonic()
        path = parse_dbfs_url(remote_url)
        files, dbfs = self._apis(remote_url, "Download of", timeout, transfer=True)
        try:
            if _is_volume(path):
                response = files.download(path)
                contents = response.contents
                assert contents is not None
                with contents, atomic_download_path(local_path) as tmp, open(tmp, "wb") as out:
                    copy_chunks(iter(lambda: contents.read(_BLOCK), b""), out, remote_url,
                                timeout, response.content_length, started)
                return
            status = dbfs.get_status(path)
            if status.is_dir:
                raise ObjectNotFoundError(f"Download of {remote_url} failed: it is a directory")
            size = status.file_size or 0

            def blocks() -> Iterator[bytes]:
                offset = 0
                while offset < size:
                    block = dbfs.read(path, offset=offset, length=_BLOCK)
                    data = base64.b64decode(block.data or "")
                    if not data:
                        return
                    offset += len(data)
                    yield data

            with atomic_download_path(local_path) as tmp, open(tmp, "wb") as out:
                copy_chunks(blocks(), out, remote_url, timeout, size, started)
        except Exception as e:
            raise _translate(e, remote_url, "Download of") from e

    def upload_file(self, local_path: str, remote_url: str) -> None:
        """Put the file at `remote_url`, replacing any file there."""
        path = parse_dbfs_url(remote_url)
        files, dbfs = self._apis(remote_url, f"Upload of {local_path} to", 300, transfer=True)
        try:
            with open(local_path, "rb") as f:
                if _is_volume(path):
                    files.upload(path, f, overwrite=True)
                    return
                handle = dbfs.create(path, overwrite=True).handle
                assert handle is not None
                while block := f.read(_BLOCK):
                    dbfs.add_block(handle, base64.b64encode(block).decode())
                dbfs.close(handle)
        except Exception as e:
            raise _translate(e, remote_url, f"Upload of {local_path} to") from e

    def list_prefix(self, remote_url: str) -> list[str]:
        """Every file under the directory `remote_url`, relative to it, sorted; empty when the
        directory does not exist."""
        root = parse_dbfs_url(remote_url).rstrip("/") or "/"
        files, dbfs = self._apis(remote_url, "Listing of", _LIST_TIMEOUT, transfer=False)
        out: list[str] = []
        pending = [root]
        try:
            while pending:
                directory = pending.pop()
                try:
                    if _is_volume(root):
                        entries = [(e.path, e.is_directory)
                                   for e in files.list_directory_contents(directory)]
                    else:
                        entries = [(e.path, e.is_dir) for e in dbfs.list(directory)]
                except NotFound:
                    if directory == root:
                        return []
                    raise
                for entry_path, is_dir in entries:
                    assert entry_path is not None
                    if is_dir:
                        pending.append(entry_path.rstrip("/"))
                    elif entry_path != root:  # listing a file lists the file itself
                        out.append(entry_path[len(root.rstrip("/")) + 1:])
        except Exception as e:
            raise _translate(e, remote_url, "Listing of") from e
        return sorted(out)

    def exists(self, remote_url: str) -> bool:
        """Whether a file is at `remote_url`."""
        path = parse_dbfs_url(remote_url)
        files, dbfs = self._apis(remote_url, "Existence check of", _LIST_TIMEOUT, transfer=False)
        try:
            if _is_volume(path):
                files.get_metadata(path)
                return True
            return not dbfs.get_status(path).is_dir
        except NotFound:
            return False
        except Exception as e:
            raise _translate(e, remote_url, "Existence check of") from e
