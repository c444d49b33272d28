"""A moto S3 server for this package, the AWS variables pointing at it for each test, and a
fresh bucket per test."""

from __future__ import annotations

import pytest

from streaming.storage import get_backend
from streaming.storage.s3 import S3Backend
from tests.storage.s3.fixtures import bucket, moto, moto_env, s3  # noqa: F401 (fixtures)


@pytest.fixture
def backend(moto_env: str) -> S3Backend:
    """The process's S3Backend (the one downloads use); patch its settings with monkeypatch."""
    backend = get_backend("s3://any/")
    assert isinstance(backend, S3Backend)
    return backend
