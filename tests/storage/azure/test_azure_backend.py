"""AzureBackend against a live azurite: transfers, listing, errors, credentials, URL forms."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import pickle
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import streaming.storage.azure as azure_backend
from streaming.storage.azure import AzureBackend, AzureLocation, parse_azure_url
from streaming.storage.base import (
    DownloadTimeoutError,
    ObjectNotFoundError,
    StorageAuthError,
    StorageError,
)
from streaming.storage.download import download
from tests.storage.azure.conftest import ACCOUNT, Azurite


def put(backend: AzureBackend, tmp_path: Path, url: str, data: bytes) -> None:
    src = tmp_path / f"src-{len(os.listdir(tmp_path))}"
    src.write_bytes(data)
    backend.upload_file(str(src), url)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The retries of `streaming.storage.download.retry` (each asks for a backoff delay), made
    without waiting."""
    retries: list[int] = []
    module = importlib.import_module("streaming.storage.download")
    monkeypatch.setattr(module, "backoff_delay", lambda attempt: retries.append(attempt) or 0.0)
    return retries


def test_parse_both_url_forms() -> None:
    assert parse_azure_url("azure://box/a/b.mds") == AzureLocation(None, "box", "a/b.mds")
    assert parse_azure_url("azure://acct.blob.core.windows.net/box/a/b.mds") == AzureLocation(
        "acct.blob.core.windows.net", "box", "a/b.mds"
    )
    assert parse_azure_url("azure://box") == AzureLocation(None, "box", "")
    with pytest.raises(ValueError, match="names no container"):
        parse_azure_url("azure://acct.blob.core.windows.net/")
    with pytest.raises(ValueError, match="Not an azure"):
        parse_azure_url("s3://box/a")


def test_round_trip_in_many_chunks(
    container: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(azure_backend, "CHUNK_BYTES", 64 << 10)  # 5 ranged GETs for 300 KB
    backend = AzureBackend()
    data = os.urandom(300_001)
    url = f"azure://{container}/dir/sub dir/ü shard.bin"
    put(backend, tmp_path, url, data)
    out = tmp_path / "out" / "shard.bin"
    backend.download_file(url, str(out), timeout=30)
    assert out.read_bytes() == data
    assert os.listdir(out.parent) == ["shard.bin"]  # no temporary file left beside it


def test_upload_overwrites_and_empty_blob(container: str, tmp_path: Path) -> None:
    backend = AzureBackend()
    url = f"azure://{container}/x"
    put(backend, tmp_path, url, b"first version")
    put(backend, tmp_path, url, b"second")
    backend.download_file(url, str(tmp_path / "x"), timeout=30)
    assert (tmp_path / "x").read_bytes() == b"second"
    put(backend, tmp_path, f"azure://{container}/empty", b"")
    backend.download_file(f"azure://{container}/empty", str(tmp_path / "empty"), timeout=30)
    assert (tmp_path / "empty").read_bytes() == b""


def test_peer_account_host_form_reads_the_same_blob(container: str, tmp_path: Path) -> None:
    backend = AzureBackend()
    put(backend, tmp_path, f"azure://{container}/d/f", b"peer form")
    host_url = f"azure://{ACCOUNT}.blob.core.windows.net/{container}/d/f"
    assert backend.exists(host_url)
    backend.download_file(host_url, str(tmp_path / "f"), timeout=30)
    assert (tmp_path / "f").read_bytes() == b"peer form"
    assert backend.list_prefix(f"azure://{ACCOUNT}.blob.core.windows.net/{container}/d") == ["f"]


def test_missing_blob_fails_at_once_naming_the_url(
    container: str, tmp_path: Path, sleeps: list[int]
) -> None:
    url = f"azure://{container}/nope/shard.00000.mds"
    local = tmp_path / "shard.00000.mds"
    with pytest.raises(ObjectNotFoundError, match=f"Download of {url} failed: no such blob"):
        download(url, str(local), attempts=5, timeout=30)
    assert sleeps == []  # not retried
    assert not tmp_path.exists() or os.listdir(tmp_path) == []  # atomic: nothing left


def test_missing_container_fails_at_once(tmp_path: Path, sleeps: list[int]) -> None:
    url = "azure://no-such-container/shard.00000.mds"
    with pytest.raises(ObjectNotFoundError, match="container 'no-such-container' does not exist"):
        download(url, str(tmp_path / "x"), attempts=5, timeout=30)
    backend = AzureBackend()
    with pytest.raises(ObjectNotFoundError, match=f"Listing of {url}"):
        backend.list_prefix(url)
    assert backend.exists(url) is False
    assert sleeps == []


def test_wrong_account_key_is_an_auth_error(
    azure_env: Azurite,
    container: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sleeps: list[int],
) -> None:
    good = AzureBackend()
    put(good, tmp_path, f"azure://{container}/obj", b"secret")
    wrong_key = "d3Jvbmcga2V5IGZvciB0aGUgZGV2IGFjY291bnQgLS0gbm90IHRoZSByZWFsIG9uZQ=="
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azure_env.connection_string(wrong_key))
    bad = AzureBackend()
    url = f"azure://{container}/obj"
    refused = f"Download of {url} failed: Azure refused the credentials \\(AuthorizationFailure\\)"
    with pytest.raises(StorageAuthError, match=refused):
        download(url, str(tmp_path / "obj"), attempts=5, timeout=30)
    assert sleeps == []
    assert not (tmp_path / "obj").exists()
    with pytest.raises(StorageAuthError, match=f"Upload of .* to {url} failed"):
        put(bad, tmp_path, url, b"overwritten?")
    with pytest.raises(StorageAuthError, match="Listing of"):
        bad.list_prefix(f"azure://{container}/")
    with pytest.raises(StorageAuthError, match="Existence check of"):
        bad.exists(url)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azure_env.connection_string())
    good.download_file(url, str(tmp_path / "still"), timeout=30)
    assert (tmp_path / "still").read_bytes() == b"secret"


def test_no_credentials_names_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING")
    with pytest.raises(StorageAuthError, match="azure://box/x: no Azure account is configured"):
        AzureBackend().exists("azure://box/x")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", "not a connection string")
    with pytest.raises(StorageAuthError, match="bad Azure settings"):
        AzureBackend().exists("azure://box/x")


def test_list_pages_through_many_blobs(container: str, tmp_path: Path) -> None:
    from azure.storage.blob import BlobServiceClient

    backend = AzureBackend()
    backend.list_page_size = 2
    names = [f"shard.{i:05}.mds" for i in range(7)] + ["sub/a", "sub/deeper/b"]
    for name in names:
        put(backend, tmp_path, f"azure://{container}/ds/{name}", name.encode())
    put(backend, tmp_path, f"azure://{container}/ds2/not-under-ds", b"")
    put(backend, tmp_path, f"azure://{container}/top", b"")
    assert backend.list_prefix(f"azure://{container}/ds") == sorted(names)
    assert backend.list_prefix(f"azure://{container}/ds/") == sorted(names)
    assert backend.list_prefix(f"azure://{container}/ds/sub") == ["a", "deeper/b"]
    assert backend.list_prefix(f"azure://{container}") == sorted(
        [f"ds/{n}" for n in names] + ["ds2/not-under-ds", "top"]
    )
    assert backend.list_prefix(f"azure://{container}/empty") == []
    # The server really pages at this size, so the listing above went through 5 pages.
    client = BlobServiceClient.from_connection_string(os.environ["AZURE_STORAGE_CONNECTION_STRING"])
    pages = client.get_container_client(container).list_blobs("ds/", results_per_page=2).by_page()
    assert len([list(p) for p in pages]) == 5


def test_exists(container: str, tmp_path: Path) -> None:
    backend = AzureBackend()
    put(backend, tmp_path, f"azure://{container}/a/b", b"1")
    assert backend.exists(f"azure://{container}/a/b") is True
    assert backend.exists(f"azure://{container}/a") is False
    assert backend.exists(f"azure://{container}/a/c") is False


def test_pickles_without_its_client(container: str, tmp_path: Path) -> None:
    backend = AzureBackend()
    put(backend, tmp_path, f"azure://{container}/p", b"pickled")
    assert backend._clients
    clone = pickle.loads(pickle.dumps(backend))
    assert clone._clients == {}
    clone.download_file(f"azure://{container}/p", str(tmp_path / "p"), timeout=30)
    assert (tmp_path / "p").read_bytes() == b"pickled"


def test_unanswered_request_is_bounded_by_the_timeout(
    azure_env: Azurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        endpoint = f"http://127.0.0.1:{port}/{ACCOUNT}"
        monkeypatch.setenv(
            "AZURE_STORAGE_CONNECTION_STRING",
            azure_env.connection_string().replace(azure_env.endpoint, endpoint),
        )
        started = time.monotonic()
        with pytest.raises(StorageError, match="Download of azure://box/x failed") as caught:
            AzureBackend().download_file("azure://box/x", str(tmp_path / "x"), timeout=1)
        assert time.monotonic() - started < 5
    assert not isinstance(caught.value, (ObjectNotFoundError, StorageAuthError))  # retried
    assert not (tmp_path / "x").exists()


@contextlib.contextmanager
def stalling_proxy(upstream_port: int, stall_after: int) -> Iterator[int]:
    """A TCP relay to `upstream_port` whose answers stop after `stall_after` bytes (the
    connection stays open, silent). Yields its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def relay(src: socket.socket, dst: socket.socket, limit: int | None) -> None:
        sent = 0
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                if limit is not None and sent + len(data) > limit:
                    dst.sendall(data[: limit - sent])
                    stop.wait()
                    return
                dst.sendall(data)
                sent += len(data)

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = listener.accept()
                server = socket.create_connection(("127.0.0.1", upstream_port))
                for args in ((client, server, None), (server, client, stall_after)):
                    threading.Thread(target=relay, args=args, daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()


def test_a_body_that_stalls_is_cut_at_the_timeout(
    azure_env: Azurite, container: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"azure://{container}/stalls"
    put(AzureBackend(), tmp_path, url, os.urandom(3_000_000))
    port = int(azure_env.endpoint.split(":")[2].split("/")[0])
    with stalling_proxy(port, stall_after=100_000) as proxy_port:
        endpoint = f"http://127.0.0.1:{proxy_port}/{ACCOUNT}"
        monkeypatch.setenv(
            "AZURE_STORAGE_CONNECTION_STRING",
            azure_env.connection_string().replace(azure_env.endpoint, endpoint),
        )
        started = time.monotonic()
        with pytest.raises(DownloadTimeoutError, match=f"Download of {url} took longer than 1.5"):
            AzureBackend().download_file(url, str(tmp_path / "out"), timeout=1.5)
        elapsed = time.monotonic() - started
    # The bound, plus at most the one-second pause the SDK makes before re-requesting.
    assert 1.5 <= elapsed < 3.5
    assert not (tmp_path / "out").exists()


def test_account_variables_choose_the_account_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The peer's AZURE_ACCOUNT_NAME/AZURE_ACCOUNT_ACCESS_KEY (no server: only the client that
    they build is checked)."""
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING")
    monkeypatch.setenv("AZURE_ACCOUNT_NAME", "acct")
    monkeypatch.setenv("AZURE_ACCOUNT_ACCESS_KEY", "a2V5")
    backend = AzureBackend()
    plain = backend._service(parse_azure_url("azure://box/x"), "azure://box/x")
    assert plain.url == "https://acct.blob.core.windows.net/"
    assert plain.credential.account_name == "acct" and plain.credential.account_key == "a2V5"
    host_url = "azure://acct.blob.core.windows.net/box/x"
    same = backend._service(parse_azure_url(host_url), host_url)
    assert same.url == "https://acct.blob.core.windows.net/" and same.credential.account_key
    other_url = "azure://other.blob.core.windows.net/box/x"
    other = backend._service(parse_azure_url(other_url), other_url)
    assert other.url == "https://other.blob.core.windows.net/"
    # Not acct's key: DefaultAzureCredential if azure-identity is installed, else anonymous.
    identity = importlib.util.find_spec("azure.identity") is not None
    expected = "DefaultAzureCredential" if identity else "NoneType"
    assert type(other.credential).__name__ == expected
