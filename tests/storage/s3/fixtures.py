"""The moto fixtures shared by the S3 and fault tests (each package imports them into its
conftest, so each package gets its own server): a moto server per package, the AWS variables
pointing at it for each test, a fresh bucket, and a boto3 client for the test's own checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.storage.s3.server import (
    AWS_ENV,
    AWS_UNSET,
    MotoServer,
    new_bucket,
    s3_client,
    start_moto,
)

__all__ = ["moto", "moto_env", "bucket", "s3"]


@pytest.fixture(scope="package")
def moto() -> Iterator[MotoServer]:
    """A moto server, started once for the tests of this package."""
    server = start_moto()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def moto_env(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """The AWS variables for moto, set for one test (inherited by its DataLoader workers)."""
    for name in AWS_UNSET:
        monkeypatch.delenv(name, raising=False)
    for name, value in {**AWS_ENV, "AWS_ENDPOINT_URL": moto.endpoint}.items():
        monkeypatch.setenv(name, value)
    return moto.endpoint


@pytest.fixture
def bucket(moto: MotoServer) -> str:
    """A new, empty bucket."""
    return new_bucket(moto.endpoint)


@pytest.fixture
def s3(moto: MotoServer) -> Any:
    """A boto3 client for the test's own setup and checks."""
    return s3_client(moto.endpoint)
