"""GCS in HMAC mode against moto as the S3-compatible endpoint: a moto server for this package,
``GCS_KEY``/``GCS_SECRET`` set and ``STORAGE_EMULATOR_HOST`` pointing at moto for each test, no
AWS settings at all (HMAC mode must not need them), and a fresh bucket per test."""

from __future__ import annotations

import os
from typing import Any

import pytest

from streaming.storage import get_backend
from streaming.storage.gcs import GCSBackend
from tests.storage.s3.fixtures import moto  # noqa: F401 (fixture)
from tests.storage.s3.server import AWS_UNSET, MotoServer, new_bucket, s3_client

#: The HMAC key pair the tests sign with (moto accepts any while its auth is not enforced).
GCS_KEY = "GOOGTS7C7FUP3AIRVJTE2BCD"
GCS_SECRET = "bGoa+V7g/yqDXvKRqq+JTFn4uQZbPiQJo4pf9RzJ"


@pytest.fixture(autouse=True)
def hmac_env(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: F811
    """The peer's HMAC variables and the emulator variable, for one test (inherited by its
    DataLoader workers); every AWS variable unset."""
    for name in [*AWS_UNSET, *(n for n in os.environ if n.startswith("AWS_")),
                 "GOOGLE_APPLICATION_CREDENTIALS"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)  # never the developer's ~/.aws
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("GCS_KEY", GCS_KEY)
    monkeypatch.setenv("GCS_SECRET", GCS_SECRET)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", moto.endpoint)
    return moto.endpoint


@pytest.fixture
def bucket(moto: MotoServer) -> str:  # noqa: F811
    """A new, empty bucket."""
    return new_bucket(moto.endpoint)


@pytest.fixture
def s3(moto: MotoServer) -> Any:  # noqa: F811
    """A boto3 client of moto for the test's own setup and checks."""
    return s3_client(moto.endpoint)


@pytest.fixture
def backend(hmac_env: str) -> GCSBackend:
    """The process's GCSBackend (the one downloads use)."""
    backend = get_backend("gs://any/")
    assert isinstance(backend, GCSBackend)
    return backend
