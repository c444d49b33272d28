"""GCSBackend in HMAC mode (``GCS_KEY``/``GCS_SECRET``): boto3 signing with the HMAC key, region
``auto``, against moto standing in for storage.googleapis.com."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import pytest

from streaming.storage import ObjectNotFoundError, StorageAuthError, download
from streaming.storage.download import upload
from streaming.storage.gcs import GCSBackend
from streaming.storage.gcs_hmac import GCS_XML_ENDPOINT, _endpoint
from tests.storage._e2e import MDS_COLUMNS, check_streaming, make_samples, write_mds
from tests.storage._fault_proxy import FaultProxy
from tests.storage.gcs_hmac.conftest import GCS_KEY
from tests.storage.s3.server import MotoServer


def test_endpoint_is_google_unless_an_emulator_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STORAGE_EMULATOR_HOST")
    assert _endpoint() == GCS_XML_ENDPOINT == "https://storage.googleapis.com"
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "127.0.0.1:9")
    assert _endpoint() == "http://127.0.0.1:9"


def test_upload_then_download_is_byte_identical(
    backend: GCSBackend, bucket: str, s3: Any, tmp_path: Path
) -> None:
    data = os.urandom(2 * (1 << 20) + 5)
    (tmp_path / "src").write_bytes(data)
    upload(str(tmp_path / "src"), f"gs://{bucket}/d/obj.bin")
    assert s3.get_object(Bucket=bucket, Key="d/obj.bin")["Body"].read() == data
    download(f"gs://{bucket}/d/obj.bin", str(tmp_path / "out" / "obj.bin"), timeout=30)
    assert (tmp_path / "out" / "obj.bin").read_bytes() == data
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["obj.bin"]
    assert pickle.loads(pickle.dumps(backend)).exists(f"gs://{bucket}/d/obj.bin")


def test_requests_are_signed_with_the_hmac_key_for_region_auto(
    backend: GCSBackend, moto: MotoServer, bucket: str, s3: Any, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s3.put_object(Bucket=bucket, Key="a", Body=b"payload")
    with FaultProxy(moto.endpoint) as proxy:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
        backend.download_file(f"gs://{bucket}/a", str(tmp_path / "a"), timeout=10)
        assert backend.list_prefix(f"gs://{bucket}/") == ["a"]
    assert (tmp_path / "a").read_bytes() == b"payload"
    assert [(r.method, r.path.split("?")[0]) for r in proxy.requests] == [
        ("GET", f"/{bucket}/a"), ("GET", f"/{bucket}")
    ]
    for request in proxy.requests:
        assert f"Credential={GCS_KEY}/" in request.headers["authorization"]
        assert "/auto/s3/aws4_request" in request.headers["authorization"]


def test_missing_object_and_listing(
    backend: GCSBackend, bucket: str, s3: Any, tmp_path: Path
) -> None:
    for key in ["ds/index.json", "ds/a/1", "ds/b", "ds2/no"]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    assert backend.list_prefix(f"gs://{bucket}/ds") == ["a/1", "b", "index.json"]
    assert backend.exists(f"gs://{bucket}/ds/b")
    assert not backend.exists(f"gs://{bucket}/ds/c")
    url = f"gs://{bucket}/ds/missing"
    with pytest.raises(ObjectNotFoundError, match=f"Download of {url} failed: no object"):
        download(url, str(tmp_path / "m"), attempts=5, timeout=10)
    assert not (tmp_path / "m").exists()


def test_refused_key_names_the_hmac_variables(
    backend: GCSBackend, moto: MotoServer, bucket: str, s3: Any, tmp_path: Path
) -> None:
    s3.put_object(Bucket=bucket, Key="obj", Body=b"x")
    moto.set_auth(True)  # from now on only IAM-created keys pass: ours is unknown
    try:
        url = f"gs://{bucket}/obj"
        with pytest.raises(
            StorageAuthError, match=f"{url} failed: InvalidAccessKeyId.*GCS_KEY/GCS_SECRET"
        ):
            download(url, str(tmp_path / "obj"), attempts=5, timeout=10)
    finally:
        moto.set_auth(False)
    assert not (tmp_path / "obj").exists()


def test_mds_round_trip(bucket: str, tmp_path: Path) -> None:
    samples = make_samples(200)
    write_mds(f"gs://{bucket}/ds", samples)
    check_streaming(f"gs://{bucket}/ds", tmp_path / "cache", samples, MDS_COLUMNS)
