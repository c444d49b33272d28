"""S3Backend against a live moto server, through boto3: bytes, errors, listing, settings."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import pytest

from streaming.storage import ObjectNotFoundError, StorageAuthError, download, get_backend
from streaming.storage.s3 import S3Backend
from tests.storage._fault_proxy import FaultProxy
from tests.storage.s3.server import MotoServer


def _listdir(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def test_registry_serves_s3() -> None:
    assert isinstance(get_backend("s3://any-bucket/x"), S3Backend)


def test_upload_then_download_is_byte_identical(
    backend: S3Backend, bucket: str, s3: Any, tmp_path: Path
) -> None:
    data = os.urandom(3 * (1 << 20) + 17)  # several 1 MiB pieces and a tail
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    backend.upload_file(str(src), f"s3://{bucket}/dir/sub/obj.bin")
    assert s3.get_object(Bucket=bucket, Key="dir/sub/obj.bin")["Body"].read() == data
    dest = tmp_path / "out" / "nested" / "obj.bin"
    backend.download_file(f"s3://{bucket}/dir/sub/obj.bin", str(dest), timeout=30)
    assert dest.read_bytes() == data
    assert _listdir(dest.parent) == ["obj.bin"]  # no temporary file left beside it


def test_download_replaces_existing_file_atomically(
    backend: S3Backend, bucket: str, s3: Any, tmp_path: Path
) -> None:
    s3.put_object(Bucket=bucket, Key="a", Body=b"new contents")
    dest = tmp_path / "a"
    dest.write_bytes(b"old")
    backend.download_file(f"s3://{bucket}/a", str(dest), timeout=30)
    assert dest.read_bytes() == b"new contents"
    assert _listdir(tmp_path) == ["a"]


def test_missing_object_fails_at_once(
    backend: S3Backend, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real = backend.download_file
    monkeypatch.setattr(backend, "download_file", lambda *a: calls.append(a) or real(*a))
    url = f"s3://{bucket}/no/such/object"
    with pytest.raises(ObjectNotFoundError, match=f"s3://{bucket}/no/such/object"):
        download(url, str(tmp_path / "x"), attempts=5, timeout=10)
    assert len(calls) == 1  # permanent: not retried
    assert not (tmp_path / "x").exists() and _listdir(tmp_path) == []
    with pytest.raises(ObjectNotFoundError, match="bucket 'no-such-bucket-xyz' does not exist"):
        download("s3://no-such-bucket-xyz/a", str(tmp_path / "y"), attempts=5, timeout=10)
    assert len(calls) == 2


def test_exists(backend: S3Backend, bucket: str, s3: Any) -> None:
    s3.put_object(Bucket=bucket, Key="d/a", Body=b"1")
    assert backend.exists(f"s3://{bucket}/d/a")
    assert not backend.exists(f"s3://{bucket}/d/b")
    assert not backend.exists(f"s3://{bucket}/d")  # a prefix is not an object
    assert not backend.exists("s3://no-such-bucket-xyz/d/a")


def test_list_prefix_pages_and_is_relative(
    backend: S3Backend, bucket: str, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = ["ds/index.json", "ds/a/1", "ds/a/2", "ds/b", "ds/c/d/e", "ds/z", "ds/y", "ds/x"]
    for key in [*keys, "ds2/not-mine", "other/ds/no"]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    monkeypatch.setattr(backend, "list_page_size", 3)
    pages: list[int] = []
    count = lambda **kw: pages.append(kw["parsed"].get("KeyCount"))  # noqa: E731
    events = backend._client(60, 3).meta.events
    events.register("after-call.s3.ListObjectsV2", count)
    expected = sorted(k[len("ds/"):] for k in keys)
    assert backend.list_prefix(f"s3://{bucket}/ds") == expected
    events.unregister("after-call.s3.ListObjectsV2", count)
    assert pages == [3, 3, 2]  # three pages of at most 3
    assert backend.list_prefix(f"s3://{bucket}/ds/") == expected
    assert backend.list_prefix(f"s3://{bucket}/nothing-here") == []
    assert len(backend.list_prefix(f"s3://{bucket}")) == len(keys) + 2
    with pytest.raises(ObjectNotFoundError, match="s3://no-such-bucket-xyz/ds"):
        backend.list_prefix("s3://no-such-bucket-xyz/ds")


def test_multipart_upload(
    backend: S3Backend, bucket: str, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(11 << 20)
    (tmp_path / "big").write_bytes(data)
    monkeypatch.setattr(backend, "multipart_threshold", 5 << 20)  # S3's smallest part
    backend.upload_file(str(tmp_path / "big"), f"s3://{bucket}/big")
    head = s3.head_object(Bucket=bucket, Key="big")
    assert head["ETag"].strip('"').endswith("-3")  # three parts
    backend.download_file(f"s3://{bucket}/big", str(tmp_path / "back"), timeout=30)
    assert (tmp_path / "back").read_bytes() == data


def test_bad_credentials_fail_at_once(
    moto: MotoServer,
    backend: S3Backend,
    bucket: str,
    s3: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s3.put_object(Bucket=bucket, Key="obj", Body=b"x")
    (tmp_path / "f").write_bytes(b"y")
    calls = []
    real = backend.download_file
    monkeypatch.setattr(backend, "download_file", lambda *a: calls.append(a) or real(*a))
    moto.set_auth(True)  # from now on only IAM-created keys pass; "testing" is unknown
    try:
        url = f"s3://{bucket}/obj"
        with pytest.raises(StorageAuthError, match=f"{url} failed: InvalidAccessKeyId"):
            download(url, str(tmp_path / "obj"), attempts=5, timeout=10)
        assert len(calls) == 1 and not (tmp_path / "obj").exists()
        with pytest.raises(StorageAuthError, match=f"s3://{bucket}/up"):
            backend.upload_file(str(tmp_path / "f"), f"s3://{bucket}/up")
        with pytest.raises(StorageAuthError, match=f"s3://{bucket}/"):
            backend.list_prefix(f"s3://{bucket}/")
        with pytest.raises(StorageAuthError, match=url):
            backend.exists(url)
    finally:
        moto.set_auth(False)
    assert backend.exists(url)


def test_unsigned_fallback_without_credentials(
    moto: MotoServer, bucket: str, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3.put_object(Bucket=bucket, Key="public", Body=b"public bytes", ACL="public-read")
    s3.put_object(Bucket=bucket, Key="private", Body=b"private bytes")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    with FaultProxy(moto.endpoint) as proxy:
        # S3_ENDPOINT_URL (the peer's variable) wins over a dead AWS_ENDPOINT_URL.
        monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        monkeypatch.setenv("S3_ENDPOINT_URL", proxy.url)
        backend = S3Backend()
        backend.download_file(f"s3://{bucket}/public", str(tmp_path / "p"), timeout=10)
        with pytest.raises(StorageAuthError, match=f"s3://{bucket}/private"):
            backend.download_file(f"s3://{bucket}/private", str(tmp_path / "q"), timeout=10)
    assert (tmp_path / "p").read_bytes() == b"public bytes"
    gets = [r for r in proxy.requests if r.method == "GET"]
    assert [g.path for g in gets] == [f"/{bucket}/public", f"/{bucket}/private"]
    assert not any("authorization" in g.headers for g in gets)
    assert not (tmp_path / "q").exists()


def test_requester_pays_and_canned_acl(
    moto: MotoServer, bucket: str, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = f"{bucket}-b"
    s3.create_bucket(Bucket=other)
    (tmp_path / "f").write_bytes(b"z")
    monkeypatch.setenv("MOSAICML_STREAMING_AWS_REQUESTER_PAYS", f"someone-else, {bucket}")
    monkeypatch.setenv("S3_CANNED_ACL", "public-read")
    backend = S3Backend()
    with FaultProxy(moto.endpoint) as proxy:
        monkeypatch.setenv("S3_ENDPOINT_URL", proxy.url)
        for b in (bucket, other):
            backend.upload_file(str(tmp_path / "f"), f"s3://{b}/k")
            backend.download_file(f"s3://{b}/k", str(tmp_path / b), timeout=10)
            assert backend.list_prefix(f"s3://{b}/") == ["k"]
    payer = {(r.method, r.path.split("?")[0].split("/")[1]): r.headers.get("x-amz-request-payer")
             for r in proxy.requests}
    assert payer == {
        ("PUT", bucket): "requester", ("GET", bucket): "requester",
        ("PUT", other): None, ("GET", other): None,
    }
    grants = s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]
    assert {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"} in [
        g["Grantee"] for g in grants if g["Permission"] == "READ"
    ]


def test_backend_pickles_without_clients(bucket: str, s3: Any, tmp_path: Path) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    backend = S3Backend()
    backend.download_file(f"s3://{bucket}/k", str(tmp_path / "1"), timeout=10)
    assert backend._clients
    clone = pickle.loads(pickle.dumps(backend))
    assert clone._clients == {}
    clone.download_file(f"s3://{bucket}/k", str(tmp_path / "2"), timeout=10)
    assert (tmp_path / "2").read_bytes() == b"v"
