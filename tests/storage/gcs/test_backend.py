"""GCSBackend against a live fake-gcs-server, through google-cloud-storage: bytes, errors,
listing, credentials, timeouts."""

from __future__ import annotations

import base64
import json
import os
import pickle
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from streaming.storage import (
    DownloadTimeoutError,
    ObjectNotFoundError,
    StorageAuthError,
    download,
    get_backend,
)
from streaming.storage.gcs import GCSBackend
from tests.storage._fault_proxy import FaultProxy
from tests.storage.gcs.server import FakeGCSServer


def _put(gcs: Any, bucket: str, name: str, data: bytes) -> None:
    gcs.bucket(bucket).blob(name).upload_from_string(data)


def test_registry_serves_gs() -> None:
    assert isinstance(get_backend("gs://any-bucket/x"), GCSBackend)


def test_upload_then_download_is_byte_identical(
    backend: GCSBackend, bucket: str, gcs: Any, tmp_path: Path
) -> None:
    data = os.urandom(9 * (1 << 20) + 5)  # past the SDK's 8 MiB single-request upload limit
    (tmp_path / "src").write_bytes(data)
    backend.upload_file(str(tmp_path / "src"), f"gs://{bucket}/dir/sub/obj.bin")
    assert gcs.bucket(bucket).blob("dir/sub/obj.bin").download_as_bytes() == data
    dest = tmp_path / "out" / "obj.bin"
    backend.download_file(f"gs://{bucket}/dir/sub/obj.bin", str(dest), timeout=30)
    assert dest.read_bytes() == data
    assert [p.name for p in dest.parent.iterdir()] == ["obj.bin"]


def test_missing_object_fails_at_once(
    backend: GCSBackend, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real = backend.download_file
    monkeypatch.setattr(backend, "download_file", lambda *a: calls.append(a) or real(*a))
    with pytest.raises(ObjectNotFoundError, match=f"gs://{bucket}/no/such"):
        download(f"gs://{bucket}/no/such", str(tmp_path / "x"), attempts=5, timeout=10)
    with pytest.raises(ObjectNotFoundError, match="gs://no-such-bucket-xyz/a"):
        download("gs://no-such-bucket-xyz/a", str(tmp_path / "y"), attempts=5, timeout=10)
    assert len(calls) == 2  # permanent: not retried
    assert list(tmp_path.iterdir()) == []


def test_exists(backend: GCSBackend, bucket: str, gcs: Any) -> None:
    _put(gcs, bucket, "d/a", b"1")
    assert backend.exists(f"gs://{bucket}/d/a")
    assert not backend.exists(f"gs://{bucket}/d/b")
    assert not backend.exists(f"gs://{bucket}/d")
    assert not backend.exists("gs://no-such-bucket-xyz/d/a")


def test_list_prefix_pages_and_is_relative(
    fake_gcs: FakeGCSServer,
    backend: GCSBackend,
    bucket: str,
    gcs: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = ["ds/index.json", "ds/a/1", "ds/a/2", "ds/b", "ds/c/d/e", "ds/z", "ds/y"]
    for name in [*names, "ds2/not-mine", "other/ds/no"]:
        _put(gcs, bucket, name, b"")
    monkeypatch.setattr(backend, "list_page_size", 3)
    expected = sorted(n[len("ds/"):] for n in names)
    with FaultProxy(fake_gcs.endpoint) as proxy:  # counts the listing requests
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
        assert backend.list_prefix(f"gs://{bucket}/ds") == expected
    lists = [r for r in proxy.requests if r.path.startswith(f"/storage/v1/b/{bucket}/o?")]
    assert len(lists) == 3  # pages of 3, 3 and 1
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", fake_gcs.endpoint)
    assert backend.list_prefix(f"gs://{bucket}/ds/") == expected
    assert backend.list_prefix(f"gs://{bucket}/nothing") == []
    with pytest.raises(ObjectNotFoundError, match="gs://no-such-bucket-xyz/ds"):
        backend.list_prefix("gs://no-such-bucket-xyz/ds")


def test_anonymous_read_through_the_emulator(
    fake_gcs: FakeGCSServer, bucket: str, gcs: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _put(gcs, bucket, "pub", b"public bytes")
    with FaultProxy(fake_gcs.endpoint) as proxy:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
        GCSBackend().download_file(f"gs://{bucket}/pub", str(tmp_path / "p"), timeout=10)
    assert (tmp_path / "p").read_bytes() == b"public bytes"
    assert proxy.requests and not any("authorization" in r.headers for r in proxy.requests)


def test_no_credentials_fall_back_to_anonymous(
    fake_gcs: FakeGCSServer, bucket: str, gcs: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the emulator variable and without any credentials: an anonymous client."""
    _put(gcs, bucket, "pub", b"public")
    monkeypatch.delenv("STORAGE_EMULATOR_HOST")
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "no-gcloud"))  # no ADC file
    monkeypatch.setenv("NO_GCE_CHECK", "true")  # no metadata server
    with FaultProxy(fake_gcs.endpoint) as proxy:
        monkeypatch.setenv("API_ENDPOINT_OVERRIDE", proxy.url)
        GCSBackend().download_file(f"gs://{bucket}/pub", str(tmp_path / "p"), timeout=10)
    assert (tmp_path / "p").read_bytes() == b"public"
    assert proxy.requests and not any("authorization" in r.headers for r in proxy.requests)


class _TokenHandler(BaseHTTPRequestHandler):
    """An OAuth token endpoint: the service account "good@..." gets a token, others are refused."""

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        claims = form["assertion"][0].split(".")[1]
        issuer = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["iss"]
        if issuer.startswith("good@"):
            status, body = 200, {"access_token": "tok-123", "expires_in": 3600,
                                 "token_type": "Bearer"}
        else:
            status, body = 400, {"error": "invalid_grant", "error_description": "Invalid grant"}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def token_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TokenHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/token"
    server.shutdown()
    server.server_close()


def _service_account_file(path: Path, token_uri: str, email: str) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "proj", "private_key_id": "k1",
        "private_key": key.decode(), "client_email": email, "client_id": "1",
        "token_uri": token_uri,
    }))
    return str(path)


def test_application_default_credentials_are_used(
    fake_gcs: FakeGCSServer,
    bucket: str,
    gcs: Any,
    token_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _put(gcs, bucket, "obj", b"data")
    adc = _service_account_file(tmp_path / "good.json", token_server, "good@proj.iam.example")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", adc)
    with FaultProxy(fake_gcs.endpoint) as proxy:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
        GCSBackend().download_file(f"gs://{bucket}/obj", str(tmp_path / "o"), timeout=10)
    assert (tmp_path / "o").read_bytes() == b"data"
    downloads = [r for r in proxy.requests if r.path.startswith("/download/")]
    assert [r.headers.get("authorization") for r in downloads] == ["Bearer tok-123"]


def test_refused_credentials_fail_at_once(
    bucket: str, gcs: Any, token_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _put(gcs, bucket, "obj", b"data")
    adc = _service_account_file(tmp_path / "bad.json", token_server, "revoked@proj.iam.example")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", adc)
    backend = get_backend(f"gs://{bucket}/obj")  # the shared instance makes a new client
    calls = []
    real = backend.download_file
    monkeypatch.setattr(backend, "download_file", lambda *a: calls.append(a) or real(*a))
    with pytest.raises(StorageAuthError, match=f"gs://{bucket}/obj failed: RefreshError"):
        download(f"gs://{bucket}/obj", str(tmp_path / "o"), attempts=5, timeout=10)
    assert len(calls) == 1 and not (tmp_path / "o").exists()
    with pytest.raises(StorageAuthError, match=f"gs://{bucket}/"):
        backend.list_prefix(f"gs://{bucket}/")


@pytest.mark.parametrize("kind", ["stall", "stall_body", "trickle"])
def test_slow_download_is_cut_at_the_timeout(
    kind: str,
    fake_gcs: FakeGCSServer,
    bucket: str,
    gcs: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _put(gcs, bucket, "obj", os.urandom(1 << 20))
    with FaultProxy(
        fake_gcs.endpoint, rate=1.0, kinds=[kind], stall_s=30, path_contains="/download/",
        trickle_bps=128 << 10,
    ) as proxy:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
        start = time.monotonic()
        with pytest.raises(DownloadTimeoutError, match=f"gs://{bucket}/obj"):
            GCSBackend().download_file(f"gs://{bucket}/obj", str(tmp_path / "o"), timeout=1)
        elapsed = time.monotonic() - start
    assert proxy.counts[kind] == 1
    assert 0.9 < elapsed < 3.0, f"{kind}: took {elapsed:.2f} s with a 1 s timeout"
    assert list(tmp_path.iterdir()) == []


def test_backend_pickles_without_clients(bucket: str, gcs: Any, tmp_path: Path) -> None:
    _put(gcs, bucket, "k", b"v")
    backend = GCSBackend()
    backend.download_file(f"gs://{bucket}/k", str(tmp_path / "1"), timeout=10)
    clone = pickle.loads(pickle.dumps(backend))
    clone.download_file(f"gs://{bucket}/k", str(tmp_path / "2"), timeout=10)
    assert (tmp_path / "2").read_bytes() == b"v"
