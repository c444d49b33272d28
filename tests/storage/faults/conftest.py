"""Fault tests: a moto server for this package, the AWS variables for each test, a fresh bucket,
and fault proxies in front of moto (the code under test reaches moto only through them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.storage._fault_proxy import FaultProxy
from tests.storage.s3.fixtures import bucket, moto, moto_env, s3  # noqa: F401 (fixtures)
from tests.storage.s3.server import MotoServer


@pytest.fixture
def faulty(
    moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., FaultProxy]]:
    """``faulty(**FaultProxy options)``: start a proxy in front of moto and send this test's S3
    requests (``S3_ENDPOINT_URL``, inherited by subprocesses) through it."""
    proxies: list[FaultProxy] = []

    def make(**options: Any) -> FaultProxy:
        proxy = FaultProxy(moto.endpoint, **options).start()
        proxies.append(proxy)
        monkeypatch.setenv("S3_ENDPOINT_URL", proxy.url)
        return proxy

    yield make
    for proxy in proxies:
        proxy.stop()

