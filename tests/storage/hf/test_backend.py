"""HFBackend against our loopback Hub, through huggingface_hub: the resolve endpoint (regular
files and LFS redirects), commits, the tree, tokens, errors."""

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
from streaming.storage.download import upload
from streaming.storage.hf import HFBackend, parse_hf_url
from tests.storage._fault_proxy import FaultProxy
from tests.storage.hf.server import READ_TOKEN, HubServer


def test_registry_serves_hf() -> None:
    assert isinstance(get_backend("hf://datasets/org/name/file"), HFBackend)


def test_parse_url() -> None:
    loc = parse_hf_url("hf://datasets/org/name/dir/file.mds")
    assert (loc.repo_id, loc.revision, loc.path) == ("org/name", "main", "dir/file.mds")
    loc = parse_hf_url("hf://datasets/org/name@refs%2Fpr%2F1/f")
    assert (loc.repo_id, loc.revision, loc.path) == ("org/name", "refs/pr/1", "f")
    assert parse_hf_url("hf://datasets/org/name").path == ""
    for bad in ("hf://models/org/name/f", "hf://datasets/org", "s3://datasets/org/name/f"):
        with pytest.raises(ValueError, match="Not a Hugging Face dataset URL"):
            parse_hf_url(bad)


def test_download_regular_and_lfs_files(
    backend: HFBackend, hub: HubServer, repo: tuple[str, Path], tmp_path: Path
) -> None:
    repo_id, files = repo
    small, big = b"index contents", os.urandom((3 << 20) + 11)  # big: an LFS file (CDN)
    (files / "ds").mkdir()
    (files / "ds" / "index.json").write_bytes(small)
    (files / "ds" / "shard.00000.mds").write_bytes(big)
    download(f"hf://datasets/{repo_id}/ds/index.json", str(tmp_path / "a" / "index.json"))
    download(f"hf://datasets/{repo_id}/ds/shard.00000.mds", str(tmp_path / "a" / "s.mds"))
    assert (tmp_path / "a" / "index.json").read_bytes() == small
    assert (tmp_path / "a" / "s.mds").read_bytes() == big
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["index.json", "s.mds"]
    # The Hub's resolve endpoint first (HEAD), then the file itself or the CDN's signed URL
    # (on another host: the token does not go there, or the CDN would refuse the request).
    assert hub.requests()[-4:] == [
        f"HEAD /datasets/{repo_id}/resolve/main/ds/index.json",
        f"GET /datasets/{repo_id}/resolve/main/ds/index.json",
        f"HEAD /datasets/{repo_id}/resolve/main/ds/shard.00000.mds",
        f"GET /cdn/{repo_id}/ds/shard.00000.mds",
    ]


def test_upload_commits_and_lists(
    backend: HFBackend, hub: HubServer, repo: tuple[str, Path], tmp_path: Path
) -> None:
    repo_id, files = repo
    assert backend.list_prefix(f"hf://datasets/{repo_id}/ds") == []
    data = os.urandom(100_000)
    (tmp_path / "f").write_bytes(data)
    upload(str(tmp_path / "f"), f"hf://datasets/{repo_id}/ds/sub/shard.mds")
    (tmp_path / "g").write_bytes(b"{}")
    backend.upload_file(str(tmp_path / "g"), f"hf://datasets/{repo_id}/ds/index.json")
    assert (files / "ds" / "sub" / "shard.mds").read_bytes() == data
    assert (files / "ds" / "index.json").read_bytes() == b"{}"
    assert [r for r in hub.requests() if r.startswith("POST")] == [
        f"POST /api/datasets/{repo_id}/preupload/main",
        f"POST /api/datasets/{repo_id}/commit/main",
    ] * 2
    assert backend.list_prefix(f"hf://datasets/{repo_id}/ds") == ["index.json", "sub/shard.mds"]
    assert backend.list_prefix(f"hf://datasets/{repo_id}/ds/") == ["index.json", "sub/shard.mds"]
    assert backend.list_prefix(f"hf://datasets/{repo_id}") == [
        "ds/index.json", "ds/sub/shard.mds"
    ]
    assert backend.exists(f"hf://datasets/{repo_id}/ds/index.json")
    assert not backend.exists(f"hf://datasets/{repo_id}/ds/nothing")
    download(f"hf://datasets/{repo_id}/ds/sub/shard.mds", str(tmp_path / "back"))
    assert (tmp_path / "back").read_bytes() == data


def test_missing_file_repo_and_revision_fail_at_once(
    backend: HFBackend, repo: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo_id, _ = repo
    calls = []
    real = backend.download_file
    monkeypatch.setattr(backend, "download_file", lambda *a: calls.append(a) or real(*a))
    url = f"hf://datasets/{repo_id}/nope.mds"
    with pytest.raises(ObjectNotFoundError,
                       match=f"no file 'nope.mds' in dataset repository '{repo_id}' at 'main'"):
        download(url, str(tmp_path / "x"), attempts=5)
    with pytest.raises(ObjectNotFoundError, match="'org/absent' does not exist, or it is private"):
        download("hf://datasets/org/absent/f", str(tmp_path / "x"), attempts=5)
    with pytest.raises(ObjectNotFoundError, match="has no revision 'v9'"):
        download(f"hf://datasets/{repo_id}@v9/f", str(tmp_path / "x"), attempts=5)
    assert len(calls) == 3  # none retried
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ObjectNotFoundError, match="'org/absent' does not exist"):
        backend.list_prefix("hf://datasets/org/absent/ds")


def test_tokens(backend: HFBackend, repo: tuple[str, Path], tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> None:
    repo_id, files = repo
    (files / "f").write_bytes(b"x")
    url = f"hf://datasets/{repo_id}/f"
    monkeypatch.delenv("HF_TOKEN")  # a private repository without a token looks missing
    with pytest.raises(ObjectNotFoundError, match="private and HF_TOKEN does not grant access"):
        download(url, str(tmp_path / "f"), attempts=3)
    monkeypatch.setenv("HF_TOKEN", "hf_wrong")
    with pytest.raises(StorageAuthError, match="401 Invalid credentials.*check the token in HF"):
        download(url, str(tmp_path / "f"), attempts=3)
    monkeypatch.setenv("HF_TOKEN", READ_TOKEN)  # may read, may not write
    download(url, str(tmp_path / "f"))
    assert (tmp_path / "f").read_bytes() == b"x"
    with pytest.raises(StorageAuthError, match=f"Upload of .* to {url} failed: 403"):
        upload(str(tmp_path / "f"), url, attempts=3)


def test_stalled_download_is_bounded(
    backend: HFBackend, hub: HubServer, repo: tuple[str, Path], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo_id, files = repo
    (files / "f").write_bytes(os.urandom(12_000))  # served by the Hub itself, not the CDN
    with FaultProxy(hub.endpoint, rate=1.0, kinds=["stall_body"], path_contains="/resolve/",
                    fraction=0.5) as proxy:
        monkeypatch.setenv("HF_ENDPOINT", proxy.url)
        started = time.monotonic()
        with pytest.raises(DownloadTimeoutError, match=f"hf://datasets/{repo_id}/f"):
            backend.download_file(f"hf://datasets/{repo_id}/f", str(tmp_path / "f"), timeout=1.5)
        assert time.monotonic() - started < 4
    assert proxy.counts["stall_body"] == 1 and list(tmp_path.iterdir()) == []


def test_compat_uploader_reaches_hf(repo: tuple[str, Path], tmp_path: Path) -> None:
    from streaming.base.storage.upload import CloudUploader

    repo_id, files = repo
    uploader = CloudUploader.get((str(tmp_path / "out"), f"hf://datasets/{repo_id}/ds"))
    (tmp_path / "out" / "a.bin").write_bytes(b"abc")
    uploader.upload_file("a.bin")
    assert (files / "ds" / "a.bin").read_bytes() == b"abc"
    assert uploader.list_objects() == ["a.bin"]
