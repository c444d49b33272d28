"""``hf://datasets/<org>/<name>[@<revision>]/<path>``: Hugging Face Hub dataset repositories,
through huggingface_hub.

The URL form is mosaicml-streaming's (only dataset repositories), plus an optional revision
(a branch, tag or commit; ``@`` and URL-quoted like ``HfFileSystem``'s: ``refs%2Fpr%2F1``), by
default ``main``. Configuration is the SDK's own, read at each call: ``HF_TOKEN`` (or the token
saved by ``hf auth login``) and ``HF_ENDPOINT`` (default ``https://huggingface.co``).

A download asks the SDK for the file's metadata (``get_hf_file_metadata``: a HEAD on the resolve
URL, which checks the Hub's ``X-Repo-Commit``/``ETag`` answers and follows the Hub's own
redirects), then streams the file from where the Hub points (its CDN for LFS files; the token is
sent only to the Hub's own host) in 1 MiB pieces, with the time left as each read's timeout and
the clock checked after each piece; the size must match the Hub's. An upload is one commit of
the file (``HfApi.upload_file``: preupload, then the commit). Listing is the repository tree
under the path (``list_repo_tree``, recursive); a missing path lists as empty, a missing or
inaccessible repository fails.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx2
from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_url
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import RepoFile
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

from streaming.storage.base import (
    Backend,
    DownloadTimeoutError,
    ObjectNotFoundError,
    StorageAuthError,
    StorageError,
    atomic_download_path,
    copy_chunks,
)

__all__ = ["HFBackend", "HFLocation", "parse_hf_url"]

DEFAULT_ENDPOINT = "https://huggingface.co"
#: Seconds the metadata request and a connection may take (never more than the download's).
CONNECT_TIMEOUT = 10.0
_CHUNK = 1 << 20


@dataclass(frozen=True)
class HFLocation:
    """Where an ``hf://`` URL points: a dataset repository, a revision, a path inside it."""

    repo_id: str
    revision: str
    path: str


def parse_hf_url(url: str) -> HFLocation:
    """Split ``hf://datasets/<org>/<name>[@<revision>]/<path>`` (the path may be empty for a
    directory URL)."""
    parts = urlsplit(url)
    segments = (parts.netloc + parts.path).split("/")
    if parts.scheme != "hf" or segments[0] != "datasets" or len(segments) < 3 or not all(
        segments[1:3]
    ):
        raise ValueError(
            f"Not a Hugging Face dataset URL: {url!r}; expected "
            "hf://datasets/<org>/<name>[@<revision>]/<path>"
        )
    name, _, revision = segments[2].partition("@")
    return HFLocation(
        repo_id=f"{segments[1]}/{name}",
        revision=unquote(revision) or "main",
        path="/".join(segments[3:]),
    )


def _endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def _translate(err: BaseException, url: str, what: str, loc: HFLocation) -> Exception:
    """Our error for a huggingface_hub or HTTP failure on `url`."""
    if isinstance(err, StorageError):
        return err
    where = f"dataset repository {loc.repo_id!r}"
    if isinstance(err, GatedRepoError):
        return StorageAuthError(
            f"{what} {url} failed: {where} is gated; accept its conditions on the Hub with the "
            "account whose token is in HF_TOKEN"
        )
    if isinstance(err, RepositoryNotFoundError):
        return ObjectNotFoundError(
            f"{what} {url} failed: {where} does not exist, or it is private and HF_TOKEN does "
            "not grant access to it"
        )
    if isinstance(err, RevisionNotFoundError):
        return ObjectNotFoundError(
            f"{what} {url} failed: {where} has no revision {loc.revision!r}"
        )
    if isinstance(err, RemoteEntryNotFoundError):
        return ObjectNotFoundError(
            f"{what} {url} failed: no file {loc.path!r} in {where} at {loc.revision!r}"
        )
    if isinstance(err, HfHubHTTPError) and err.response is not None:
        status = err.response.status_code
        if status in (401, 403):
            return StorageAuthError(
                f"{what} {url} failed: {status} {err.response.headers.get('X-Error-Message', '')}"
                f"; check the token in HF_TOKEN and its rights on {where}".replace(" ;", ";")
            )
        if status == 404:
            return ObjectNotFoundError(f"{what} {url} failed: not found (404)")
    if isinstance(err, httpx2.TimeoutException) and what == "Download of":
        return DownloadTimeoutError(f"{what} {url} timed out: {err!r}")
    return StorageError(f"{what} {url} failed: {type(err).__name__}: {err}")


class HFBackend(Backend):
    """``hf://datasets/...`` URLs through huggingface_hub (see the module docstring)."""

    schemes = ("hf",)

    def _api(self) -> HfApi:
        return HfApi(endpoint=_endpoint())  # cheap; its token and endpoint are read afresh

    def download_file(self, remote_url: str, local_path: str, timeout: float = 60) -> None:
        """Stream the file into `local_path` (atomically) within `timeout` seconds."""
        started = time.monotonic()
        loc = parse_hf_url(remote_url)
        endpoint = _endpoint()
        try:
            url = hf_hub_url(loc.repo_id, loc.path, repo_type="dataset",
                             revision=loc.revision, endpoint=endpoint)
            meta = get_hf_file_metadata(url, timeout=min(float(timeout), CONNECT_TIMEOUT),
                                        endpoint=endpoint)
            if meta.commit_hash is None or meta.etag is None:
                raise StorageError(
                    f"Download of {remote_url} failed: {endpoint} did not answer like the Hub "
                    "(no X-Repo-Commit or ETag header); check HF_ENDPOINT"
                )
            headers = build_hf_headers()
            if urlsplit(meta.location).netloc != urlsplit(endpoint).netloc:
                headers.pop("authorization", None)  # the CDN's signed URL needs no token
            left = timeout - (time.monotonic() - started)
            request_timeout = httpx2.Timeout(max(left, 0.001),
                                             connect=min(max(left, 0.001), CONNECT_TIMEOUT))
            with get_session().stream("GET", meta.location, headers=headers,
                                      timeout=request_timeout, follow_redirects=True) as response:
                hf_raise_for_status(response)
                with atomic_download_path(local_path) as tmp, open(tmp, "wb") as out:
                    copy_chunks(response.iter_bytes(_CHUNK), out, remote_url, timeout,
                                expected_size=meta.size, started=started)
        except Exception as e:
            raise _translate(e, remote_url, "Download of", loc) from e

    def upload_file(self, local_path: str, remote_url: str) -> None:
        """Commit the file at the URL's path (one commit per file, as the peer does)."""
        loc = parse_hf_url(remote_url)
        if not loc.path:
            raise ValueError(f"Upload target {remote_url!r} names no file in the repository")
        try:
            self._api().upload_file(
                path_or_fileobj=local_path, path_in_repo=loc.path, repo_id=loc.repo_id,
                repo_type="dataset", revision=loc.revision,
                commit_message=f"Upload {loc.path}",
            )
        except Exception as e:
            raise _translate(e, remote_url, f"Upload of {local_path} to", loc) from e

    def list_prefix(self, remote_url: str) -> list[str]:
        """Every file under the directory `remote_url`, relative to it, sorted."""
        loc = parse_hf_url(remote_url)
        prefix = loc.path.strip("/")
        try:
            entries: Any = self._api().list_repo_tree(
                loc.repo_id, path_in_repo=prefix or None, recursive=True,
                repo_type="dataset", revision=loc.revision,
            )
            names = [e.path for e in entries if isinstance(e, RepoFile)]
        except RemoteEntryNotFoundError:
            return []
        except Exception as e:
            raise _translate(e, remote_url, "Listing of", loc) from e
        cut = len(prefix) + 1 if prefix else 0
        return sorted(name[cut:] for name in names)

    def exists(self, remote_url: str) -> bool:
        """Whether a file is at `remote_url` (a missing repository raises)."""
        loc = parse_hf_url(remote_url)
        endpoint = _endpoint()
        try:
            url = hf_hub_url(loc.repo_id, loc.path, repo_type="dataset",
                             revision=loc.revision, endpoint=endpoint)
            get_hf_file_metadata(url, timeout=CONNECT_TIMEOUT, endpoint=endpoint)
        except RemoteEntryNotFoundError:
            return False
        except Exception as e:
            raise _translate(e, remote_url, "Existence check of", loc) from e
        return True
