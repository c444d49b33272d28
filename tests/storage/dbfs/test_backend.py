"""DBFSBackend against our loopback Databricks workspace, through databricks-sdk: Unity Catalog
volumes (Files API) and DBFS paths (DBFS API), bytes, listing, errors, the token."""

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
from streaming.storage.dbfs import DBFSBackend, parse_dbfs_url
from streaming.storage.download import upload
from tests.storage._fault_proxy import FaultProxy
from tests.storage.dbfs.conftest import Workspace


def test_registry_and_urls() -> None:
    assert isinstance(get_backend("dbfs:/Volumes/c/s/v/f"), DBFSBackend)
    assert parse_dbfs_url("dbfs:/Volumes/c/s/v/a%20b") == "/Volumes/c/s/v/a b"
    assert parse_dbfs_url("dbfs:///tmp/x") == "/tmp/x"
    with pytest.raises(ValueError, match="Not a Databricks URL"):
        parse_dbfs_url("dbfs://host/tmp/x")


def test_volume_round_trip(backend: DBFSBackend, workspace: Workspace,
                           volume: tuple[str, Path], tmp_path: Path) -> None:
    path, root = volume
    data = os.urandom((2 << 20) + 9)
    (tmp_path / "src").write_bytes(data)
    url = f"dbfs:{path}/ds/sub/shard.mds"
    before = len(workspace.requests())
    upload(str(tmp_path / "src"), url)
    assert (root / "ds" / "sub" / "shard.mds").read_bytes() == data
    download(url, str(tmp_path / "out" / "s"), timeout=30)
    assert (tmp_path / "out" / "s").read_bytes() == data
    assert os.listdir(tmp_path / "out") == ["s"]
    api = f"/api/2.0/fs/files{path}/ds/sub/shard.mds"
    assert workspace.requests()[before:] == [f"PUT {api}", f"GET {api}"]
    (root / "ds" / "index.json").write_bytes(b"{}")
    assert backend.list_prefix(f"dbfs:{path}/ds") == ["index.json", "sub/shard.mds"]
    assert backend.list_prefix(f"dbfs:{path}/ds/") == ["index.json", "sub/shard.mds"]
    assert backend.list_prefix(f"dbfs:{path}/nothing") == []
    assert backend.exists(f"dbfs:{path}/ds/index.json")
    assert not backend.exists(f"dbfs:{path}/ds/none.json")


def test_dbfs_round_trip(backend: DBFSBackend, workspace: Workspace,
                         dbfs_dir: tuple[str, Path], tmp_path: Path) -> None:
    path, root = dbfs_dir
    data = os.urandom((2 << 20) + 9)  # three 1 MiB blocks each way
    (tmp_path / "src").write_bytes(data)
    url = f"dbfs:{path}/ds/shard.mds"
    before = len(workspace.requests())
    upload(str(tmp_path / "src"), url)
    assert (root / "ds" / "shard.mds").read_bytes() == data
    download(url, str(tmp_path / "out"), timeout=30)
    assert (tmp_path / "out").read_bytes() == data
    assert workspace.requests()[before:] == [
        "POST /api/2.0/dbfs/create", *["POST /api/2.0/dbfs/add-block"] * 3,
        "POST /api/2.0/dbfs/close", "GET /api/2.0/dbfs/get-status",
        *["GET /api/2.0/dbfs/read"] * 3,
    ]
    (root / "ds" / "a").mkdir()
    (root / "ds" / "a" / "b").write_bytes(b"")
    assert backend.list_prefix(f"dbfs:{path}/ds") == ["a/b", "shard.mds"]
    assert backend.list_prefix(f"dbfs:{path}/none") == []
    assert backend.exists(url) and not backend.exists(f"dbfs:{path}/ds/a")
    (tmp_path / "empty").write_bytes(b"")
    backend.upload_file(str(tmp_path / "empty"), url)
    backend.download_file(url, str(tmp_path / "e"), timeout=10)
    assert (tmp_path / "e").read_bytes() == b""


def test_missing_files_fail_at_once(
    backend: DBFSBackend, volume: tuple[str, Path], dbfs_dir: tuple[str, Path], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = []
    real = backend.download_file
    monkeypatch.setattr(backend, "download_file", lambda *a: calls.append(a) or real(*a))
    for url in (f"dbfs:{volume[0]}/none", "dbfs:/Volumes/main/default/no-volume/f",
                f"dbfs:{dbfs_dir[0]}/none"):
        with pytest.raises(ObjectNotFoundError, match=f"Download of {url} failed: not found"):
            download(url, str(tmp_path / "x"), attempts=4)
    assert len(calls) == 3 and list(tmp_path.iterdir()) == []


def test_bad_token_and_no_workspace(volume: tuple[str, Path], tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    (volume[1] / "f").write_bytes(b"x")
    url = f"dbfs:{volume[0]}/f"
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-wrong")
    with pytest.raises(StorageAuthError, match=f"Download of {url} failed: Unauthenticated"):
        download(url, str(tmp_path / "f"), attempts=3)
    monkeypatch.delenv("DATABRICKS_TOKEN")
    monkeypatch.delenv("DATABRICKS_HOST")
    with pytest.raises(StorageAuthError, match="no Databricks workspace is configured"):
        download(url, str(tmp_path / "f"), attempts=3)


def test_stalled_download_is_bounded(
    backend: DBFSBackend, workspace: Workspace, volume: tuple[str, Path], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, root = volume
    (root / "f").write_bytes(os.urandom(1 << 20))
    with FaultProxy(workspace.host, rate=1.0, kinds=["stall_body"], path_contains="/fs/files/",
                    fraction=0.5) as proxy:
        monkeypatch.setenv("DATABRICKS_HOST", proxy.url)
        started = time.monotonic()
        with pytest.raises(DownloadTimeoutError, match=f"dbfs:{path}/f"):
            backend.download_file(f"dbfs:{path}/f", str(tmp_path / "f"), timeout=1.5)
        assert time.monotonic() - started < 4
    assert proxy.counts["stall_body"] == 1 and list(tmp_path.iterdir()) == []


def test_compat_uploader_reaches_volumes(volume: tuple[str, Path], tmp_path: Path) -> None:
    from streaming.base.storage.upload import CloudUploader

    path, root = volume
    uploader = CloudUploader.get((str(tmp_path / "out"), f"dbfs:{path}/ds"))
    (tmp_path / "out" / "a.bin").write_bytes(b"abc")
    uploader.upload_file("a.bin")
    assert (root / "ds" / "a.bin").read_bytes() == b"abc"
