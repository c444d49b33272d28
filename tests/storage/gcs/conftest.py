"""A fake-gcs-server for this package, ``STORAGE_EMULATOR_HOST`` pointing at it for each test,
and a fresh bucket per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from streaming.storage import get_backend
from streaming.storage.gcs import GCSBackend
from tests.storage.gcs.server import FakeGCSServer, gcs_client, new_gcs_bucket, start_fake_gcs

#: Variables that would change where or how requests go; unset while testing.
GCS_UNSET = (
    "GOOGLE_APPLICATION_CREDENTIALS", "API_ENDPOINT_OVERRIDE", "GOOGLE_CLOUD_PROJECT",
    "GCS_KEY", "GCS_SECRET",  # HMAC mode (tests/storage/gcs_hmac)
)


@pytest.fixture(scope="package")
def fake_gcs() -> Iterator[FakeGCSServer]:
    """A fake-gcs-server, started once for the tests of this package."""
    server = start_fake_gcs()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def gcs_env(fake_gcs: FakeGCSServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """``STORAGE_EMULATOR_HOST`` for one test (inherited by its DataLoader workers)."""
    for name in GCS_UNSET:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", fake_gcs.endpoint)
    return fake_gcs.endpoint


@pytest.fixture
def bucket(fake_gcs: FakeGCSServer) -> str:
    """A new, empty bucket."""
    return new_gcs_bucket(fake_gcs.endpoint)


@pytest.fixture
def gcs(fake_gcs: FakeGCSServer) -> Any:
    """A client for the test's own setup and checks."""
    return gcs_client(fake_gcs.endpoint)


@pytest.fixture
def backend(gcs_env: str) -> GCSBackend:
    """The process's GCSBackend (the one downloads use); patch its settings with monkeypatch."""
    backend = get_backend("gs://any/")
    assert isinstance(backend, GCSBackend)
    return backend
