"""ADLSBackend against our loopback Data Lake Gen2 account, through azure-storage-file-datalake:
bytes, the DFS upload sequence, listing, URL forms, credentials, errors."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from streaming.storage import (
    DownloadTimeoutError,
    ObjectNotFoundError,
    StorageAuthError,
    download,
    get_backend,
)
from streaming.storage.adls import ADLSBackend, parse_adls_url
from streaming.storage.download import upload
from tests.storage._fault_proxy import FaultProxy
from tests.storage.adls.conftest import ACCOUNT, DFSServer


def test_registry_serves_the_data_lake_schemes() -> None:
    for url in ("azure-dl://fs/x", "abfs://fs@acct.dfs.core.windows.net/x",
                "abfss://fs@acct.dfs.core.windows.net/x"):
        assert isinstance(get_backend(url), ADLSBackend)


def test_parse_url() -> None:
    loc = parse_adls_url("azure-dl://fs/dir/a%20b")
    assert (loc.account, loc.filesystem, loc.path) == (None, "fs", "dir/a b")
    loc = parse_adls_url("abfss://fs@acct.dfs.core.windows.net/d/f")
    assert (loc.account, loc.filesystem, loc.path) == ("acct", "fs", "d/f")
    for bad in ("azure-dl:///x", "abfs://acct.dfs.core.windows.net/x", "adl://x/y"):
        with pytest.raises(ValueError, match="Not an Azure Data Lake URL"):
            parse_adls_url(bad)


def test_upload_then_download_is_byte_identical(
    backend: ADLSBackend, dfs: DFSServer, filesystem: tuple[str, Path], tmp_path: Path
) -> None:
    name, root = filesystem
    data = os.urandom((9 << 20) + 3)  # two 8 MiB ranged GETs
    (tmp_path / "src").write_bytes(data)
    url = f"azure-dl://{name}/dir/sub/obj.bin"
    before = len(dfs.requests())
    upload(str(tmp_path / "src"), url)
    assert (root / "dir" / "sub" / "obj.bin").read_bytes() == data
    path = f"/{ACCOUNT}/{name}/dir/sub/obj.bin"
    assert [r.split("&")[0] for r in dfs.requests()[before:]] == [
        f"PUT {path}?resource=file", f"PATCH {path}?action=append", f"PATCH {path}?action=flush",
    ]
    before = len(dfs.requests())
    download(url, str(tmp_path / "out" / "obj.bin"), timeout=30)
    assert (tmp_path / "out" / "obj.bin").read_bytes() == data
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["obj.bin"]
    assert dfs.requests()[before:] == [f"GET {path}?"] * 2  # the Blob API, two ranges
    (tmp_path / "empty").write_bytes(b"")
    backend.upload_file(str(tmp_path / "empty"), url)  # replaces it with nothing
    assert (root / "dir" / "sub" / "obj.bin").read_bytes() == b""
    backend.download_file(url, str(tmp_path / "e"), timeout=10)
    assert (tmp_path / "e").read_bytes() == b""


def test_abfs_form_names_the_account(
    dfs: DFSServer, filesystem: tuple[str, Path], tmp_path: Path
) -> None:
    name, root = filesystem
    (root / "f").write_bytes(b"abc")
    download(f"abfs://{name}@{ACCOUNT}.dfs.core.windows.net/f", str(tmp_path / "f"))
    assert (tmp_path / "f").read_bytes() == b"abc"


def test_listing_and_exists(backend: ADLSBackend, filesystem: tuple[str, Path]) -> None:
    name, root = filesystem
    for rel in ["ds/index.json", "ds/a/1", "ds/a/2", "ds/b", "ds2/no"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")
    assert backend.list_prefix(f"azure-dl://{name}/ds") == ["a/1", "a/2", "b", "index.json"]
    assert backend.list_prefix(f"azure-dl://{name}/ds/") == ["a/1", "a/2", "b", "index.json"]
    assert backend.list_prefix(f"azure-dl://{name}/nothing") == []
    assert backend.exists(f"azure-dl://{name}/ds/b")
    assert not backend.exists(f"azure-dl://{name}/ds/c")
    assert not backend.exists("azure-dl://no-such-fs/ds/b")


def test_missing_file_and_filesystem_fail_at_once(
    backend: ADLSBackend, filesystem: tuple[str, Path], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name, _ = filesystem
    calls = []
    real = backend.download_file
    monkeypatch.setattr(backend, "download_file", lambda *a: calls.append(a) or real(*a))
    url = f"azure-dl://{name}/none"
    with pytest.raises(ObjectNotFoundError, match=f"Download of {url} failed: no such file"):
        download(url, str(tmp_path / "x"), attempts=4)
    with pytest.raises(ObjectNotFoundError, match="filesystem 'no-such-fs' does not exist"):
        download("azure-dl://no-such-fs/f", str(tmp_path / "x"), attempts=4)
    assert len(calls) == 2 and list(tmp_path.iterdir()) == []
    with pytest.raises(ObjectNotFoundError, match="filesystem 'no-such-fs' does not exist"):
        backend.list_prefix("azure-dl://no-such-fs/ds")


def test_wrong_key_is_refused(
    backend: ADLSBackend, dfs: DFSServer, filesystem: tuple[str, Path], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name, root = filesystem
    (root / "f").write_bytes(b"x")
    other_key = "A" * 86 + "=="
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", dfs.connection_string(other_key))
    with pytest.raises(StorageAuthError, match="Azure refused the credentials.*AuthenticationF"):
        download(f"azure-dl://{name}/f", str(tmp_path / "f"), attempts=3)
    with pytest.raises(StorageAuthError, match=f"Upload of .* to azure-dl://{name}/g failed"):
        upload(str(root / "f"), f"azure-dl://{name}/g", attempts=3)
    assert not (root / "g").exists()


def test_no_account_configured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING")
    with pytest.raises(StorageAuthError, match="no Azure account is configured; set AZURE_ST"):
        download("azure-dl://fs/f", str(tmp_path / "f"))


def test_stalled_download_is_bounded(
    backend: ADLSBackend, dfs: DFSServer, filesystem: tuple[str, Path], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name, root = filesystem
    (root / "f").write_bytes(os.urandom(1 << 20))
    upstream = dfs.endpoint.rsplit("/", 1)[0]
    with FaultProxy(upstream, rate=1.0, kinds=["stall_body"], fraction=0.5) as proxy:
        monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", dfs.connection_string().replace(
            upstream, proxy.url))
        started = time.monotonic()
        with pytest.raises(DownloadTimeoutError, match=f"azure-dl://{name}/f"):
            backend.download_file(f"azure-dl://{name}/f", str(tmp_path / "f"), timeout=1.5)
        assert time.monotonic() - started < 4
    assert proxy.counts["stall_body"] >= 1 and list(tmp_path.iterdir()) == []
