"""OCIBackend against the fake Object Storage server: transfers, listing, settings, errors."""

from __future__ import annotations

import importlib
import os
import pickle
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import streaming.storage.oci as oci_backend
from streaming.storage.base import (
    DownloadTimeoutError,
    ObjectNotFoundError,
    StorageAuthError,
    StorageError,
)
from streaming.storage.download import download
from streaming.storage.oci import OCIBackend, OCILocation, parse_oci_url
from tests.storage.oci.conftest import NAMESPACE, OCIConfig
from tests.storage.oci.fake_server import FakeObjectStorage, Fault


def put(backend: OCIBackend, tmp_path: Path, url: str, data: bytes) -> None:
    src = tmp_path / f"src-{len(os.listdir(tmp_path))}"
    src.write_bytes(data)
    backend.upload_file(str(src), url)


@pytest.fixture
def retries(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The retries of `streaming.storage.download.retry`, made without waiting."""
    made: list[int] = []
    module = importlib.import_module("streaming.storage.download")
    monkeypatch.setattr(module, "backoff_delay", lambda attempt: made.append(attempt) or 0.0)
    return made


def test_parse_urls() -> None:
    assert parse_oci_url("oci://box@ns/a/b.mds") == OCILocation("box", "ns", "a/b.mds")
    assert parse_oci_url("oci://box/a?b#c") == OCILocation("box", None, "a?b#c")
    with pytest.raises(ValueError, match="names no bucket"):
        parse_oci_url("oci://@ns/a")
    with pytest.raises(ValueError, match="Not an oci"):
        parse_oci_url("azure://box/a")


def test_round_trip_in_many_reads(
    bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, oci_server: FakeObjectStorage
) -> None:
    monkeypatch.setattr(oci_backend, "CHUNK_BYTES", 64 << 10)
    backend = OCIBackend()
    data = os.urandom(300_001)
    url = f"oci://{bucket}@{NAMESPACE}/dir/sub dir/ü?#%.mds"
    put(backend, tmp_path, url, data)
    out = tmp_path / "out" / "shard.mds"
    backend.download_file(url, str(out), timeout=30)
    assert out.read_bytes() == data
    assert os.listdir(out.parent) == ["shard.mds"]
    stored = oci_server.buckets[bucket]["dir/sub dir/ü?#%.mds"]
    assert stored.data == data and stored.content_type == "application/octet-stream"


def test_overwrite_empty_object_and_content_type(
    bucket: str, tmp_path: Path, oci_server: FakeObjectStorage
) -> None:
    backend = OCIBackend()
    url = f"oci://{bucket}@{NAMESPACE}/ds/index.json"
    put(backend, tmp_path, url, b'{"old": 1}')
    put(backend, tmp_path, url, b"{}")
    backend.download_file(url, str(tmp_path / "index.json"), timeout=30)
    assert (tmp_path / "index.json").read_bytes() == b"{}"
    assert oci_server.buckets[bucket]["ds/index.json"].content_type == "application/json"
    put(backend, tmp_path, f"oci://{bucket}@{NAMESPACE}/empty", b"")
    backend.download_file(f"oci://{bucket}@{NAMESPACE}/empty", str(tmp_path / "e"), timeout=30)
    assert (tmp_path / "e").read_bytes() == b""


def test_namespace_left_out_is_asked_once(
    bucket: str, tmp_path: Path, oci_server: FakeObjectStorage
) -> None:
    backend = OCIBackend()
    put(backend, tmp_path, f"oci://{bucket}/x", b"no namespace")
    backend.download_file(f"oci://{bucket}/x", str(tmp_path / "x"), timeout=30)
    assert (tmp_path / "x").read_bytes() == b"no namespace"
    assert backend.exists(f"oci://{bucket}@{NAMESPACE}/x")
    assert [r for r in oci_server.requests if r == ("GET", "/n")] == [("GET", "/n")]


def test_missing_object_and_bucket_fail_at_once(
    bucket: str, tmp_path: Path, retries: list[int]
) -> None:
    url = f"oci://{bucket}@{NAMESPACE}/ds/shard.00000.mds"
    with pytest.raises(ObjectNotFoundError, match=f"Download of {url} failed: no such object"):
        download(url, str(tmp_path / "a" / "s"), attempts=5, timeout=30)
    assert not (tmp_path / "a").exists() or os.listdir(tmp_path / "a") == []
    missing = f"oci://no-such-bucket@{NAMESPACE}/ds/shard.00000.mds"
    expected = f"{missing} failed: bucket 'no-such-bucket' does not exist in namespace 'testns'"
    with pytest.raises(ObjectNotFoundError, match=f"Download of {expected}"):
        download(missing, str(tmp_path / "b"), attempts=5, timeout=30)
    backend = OCIBackend()
    with pytest.raises(ObjectNotFoundError, match="Listing of oci://no-such-bucket@testns/ds"):
        backend.list_prefix(f"oci://no-such-bucket@{NAMESPACE}/ds")
    assert backend.exists(missing) is False
    assert retries == []


def test_wrong_fingerprint_or_key_is_an_auth_error(
    bucket: str, tmp_path: Path, oci_config: OCIConfig, retries: list[int]
) -> None:
    url = f"oci://{bucket}@{NAMESPACE}/obj"
    put(OCIBackend(), tmp_path, url, b"secret")
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_key_file = tmp_path / "other.pem"
    other_key_file.write_bytes(
        other_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    variants = {
        "Unknown key id": {"fingerprint": "00:" * 15 + "00"},
        "The signature does not verify": {"key_file": str(other_key_file)},
    }
    for n, (why, change) in enumerate(variants.items()):
        config = oci_config.write_variant(tmp_path / f"config-{n}", **change)
        oci_backend.configure(config_file=str(config))
        refused = f"Download of {url} failed: OCI refused the credentials \\(NotAuthenticated: "
        with pytest.raises(StorageAuthError, match=refused + why):
            download(url, str(tmp_path / "obj"), attempts=5, timeout=30)
        backend = OCIBackend()
        with pytest.raises(StorageAuthError, match=f"Upload of .* to {url} failed: OCI refused"):
            put(backend, tmp_path, url, b"overwritten?")
        with pytest.raises(StorageAuthError, match="Listing of"):
            backend.list_prefix(f"oci://{bucket}@{NAMESPACE}")
        with pytest.raises(StorageAuthError, match="Existence check of"):
            backend.exists(url)
    assert retries == []
    assert not (tmp_path / "obj").exists()


def test_unusable_config_names_the_url(tmp_path: Path, retries: list[int]) -> None:
    oci_backend.configure(config_file=str(tmp_path / "absent"))
    with pytest.raises(StorageAuthError, match="Cannot access oci://b@ns/x: the OCI config is un"):
        download("oci://b@ns/x", str(tmp_path / "x"), attempts=3)
    (tmp_path / "partial").write_text("[DEFAULT]\nregion=us-ashburn-1\n")
    oci_backend.configure(config_file=str(tmp_path / "partial"))
    with pytest.raises(StorageAuthError, match="Cannot access oci://b@ns/x: the OCI config"):
        OCIBackend().exists("oci://b@ns/x")
    assert retries == []


def test_endpoint_setting_in_code_wins_over_the_file(
    bucket: str, tmp_path: Path, oci_config: OCIConfig
) -> None:
    dead = oci_config.write_variant(tmp_path / "dead", streaming_endpoint="http://127.0.0.1:9")
    oci_backend.configure(config_file=str(dead), endpoint=oci_config.endpoint)
    put(OCIBackend(), tmp_path, f"oci://{bucket}@{NAMESPACE}/x", b"via configure")
    assert OCIBackend().exists(f"oci://{bucket}@{NAMESPACE}/x")
    oci_backend.configure(config_file=str(dead))
    with pytest.raises(StorageError, match="Download of .* failed: .*Connect") as caught:
        OCIBackend().download_file(f"oci://{bucket}@{NAMESPACE}/x", str(tmp_path / "x"), 5)
    assert not isinstance(caught.value, (ObjectNotFoundError, StorageAuthError))


def test_list_pages_through_many_objects(
    bucket: str, tmp_path: Path, oci_server: FakeObjectStorage
) -> None:
    backend = OCIBackend()
    backend.list_page_size = 2
    names = [f"shard.{i:05}.mds" for i in range(7)] + ["sub/a", "sub/deeper/b"]
    for name in names:
        put(backend, tmp_path, f"oci://{bucket}@{NAMESPACE}/ds/{name}", name.encode())
    put(backend, tmp_path, f"oci://{bucket}@{NAMESPACE}/ds2/not-under-ds", b"")
    put(backend, tmp_path, f"oci://{bucket}@{NAMESPACE}/top", b"")
    oci_server.requests.clear()
    assert backend.list_prefix(f"oci://{bucket}@{NAMESPACE}/ds") == sorted(names)
    pages = [path for method, path in oci_server.requests if method == "GET"]
    assert len(pages) == 5 and all("start=" in p for p in pages[1:])
    assert backend.list_prefix(f"oci://{bucket}@{NAMESPACE}/ds/") == sorted(names)
    assert backend.list_prefix(f"oci://{bucket}@{NAMESPACE}/ds/sub") == ["a", "deeper/b"]
    assert backend.list_prefix(f"oci://{bucket}@{NAMESPACE}") == sorted(
        [f"ds/{n}" for n in names] + ["ds2/not-under-ds", "top"]
    )
    assert backend.list_prefix(f"oci://{bucket}@{NAMESPACE}/empty") == []


def test_exists_and_pickling(bucket: str, tmp_path: Path) -> None:
    backend = OCIBackend()
    put(backend, tmp_path, f"oci://{bucket}@{NAMESPACE}/a/b", b"1")
    assert backend.exists(f"oci://{bucket}@{NAMESPACE}/a/b") is True
    assert backend.exists(f"oci://{bucket}@{NAMESPACE}/a") is False
    assert backend._clients
    clone = pickle.loads(pickle.dumps(backend))
    assert clone._clients == {} and clone._client_namespaces == {}
    clone.download_file(f"oci://{bucket}/a/b", str(tmp_path / "b"), timeout=30)
    assert (tmp_path / "b").read_bytes() == b"1"


def test_transient_faults_are_retried(
    bucket: str, tmp_path: Path, oci_server: FakeObjectStorage, retries: list[int]
) -> None:
    data = os.urandom(200_000)
    url = f"oci://{bucket}@{NAMESPACE}/shard"
    put(OCIBackend(), tmp_path, url, data)
    oci_server.faults.extend([Fault(status=503), Fault(truncate_after=70_000), Fault(status=500)])
    download(url, str(tmp_path / "out"), attempts=4, timeout=30)
    assert (tmp_path / "out").read_bytes() == data
    assert retries == [0, 1, 2]
    oci_server.faults.extend([Fault(truncate_after=1000)] * 2)
    with pytest.raises(StorageError, match=f"Download of {url} failed"):
        download(url, str(tmp_path / "cut"), attempts=2, timeout=30)
    assert not (tmp_path / "cut").exists()


@pytest.mark.parametrize(
    "fault",
    [Fault(stall_after=100_000, seconds=10), Fault(trickle=0.05, seconds=10)],
    ids=["stall", "trickle"],
)
def test_a_slow_body_is_cut_at_the_timeout(
    bucket: str, tmp_path: Path, oci_server: FakeObjectStorage, fault: Fault
) -> None:
    """A silent body, or one that comes too slowly to fill a read, ends at the bound."""
    url = f"oci://{bucket}@{NAMESPACE}/slow"
    put(OCIBackend(), tmp_path, url, os.urandom(3_000_000))
    oci_server.faults.append(fault)
    started = time.monotonic()
    with pytest.raises(DownloadTimeoutError, match=f"Download of {url} took longer than 1.5"):
        OCIBackend().download_file(url, str(tmp_path / "out"), timeout=1.5)
    assert 1.5 <= time.monotonic() - started < 2.5  # the fault lasts 10 s
    assert not (tmp_path / "out").exists()
