"""A moto S3 server on loopback for any test that needs S3 (storage, faults, Spark...).

    server = start_moto()            # a fresh moto_server on a free port, ready
    with aws_environment(server.endpoint):
        ...                          # boto3 (and our S3Backend) talk to it
    server.stop()

Or, in a conftest: ``moto_env`` (function-scoped) over a ``moto`` fixture built from these.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.storage._server import ServerProcess, free_port

__all__ = ["MotoServer", "start_moto", "aws_environment", "AWS_ENV", "new_bucket", "s3_client"]

#: What boto3 needs to talk to moto (the endpoint comes separately).
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,  # never the developer's ~/.aws
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
#: Variables that would change where or how requests go; unset while testing.
AWS_UNSET = (
    "AWS_PROFILE", "AWS_SESSION_TOKEN", "S3_ENDPOINT_URL", "S3_CANNED_ACL",
    "MOSAICML_STREAMING_AWS_REQUESTER_PAYS",
)


class MotoServer(ServerProcess):
    """A running ``moto_server``; `endpoint` is its URL."""

    def __init__(self, port: int) -> None:
        moto = Path(sys.executable).with_name("moto_server")
        self.endpoint = f"http://127.0.0.1:{port}"
        super().__init__(
            "moto",
            [str(moto), "-H", "127.0.0.1", "-p", str(port)],
            ready_url=f"{self.endpoint}/moto-api/",
        )

    def set_auth(self, enforced: bool) -> None:
        """Make moto check signatures and IAM permissions (`enforced`), or accept anything.

        While enforced, only keys created through moto's IAM are accepted."""
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/reset-auth",
            data=b"0" if enforced else b"inf",
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            if r.status != 200:
                raise RuntimeError(f"moto refused reset-auth: {r.status} {r.read()!r}")


def start_moto() -> MotoServer:
    """Start a moto S3 server on a free loopback port and wait until it answers."""
    server = MotoServer(free_port())
    server.start()
    return server


@contextlib.contextmanager
def aws_environment(endpoint: str, **extra: str) -> Iterator[None]:
    """Point boto3 at `endpoint` with moto's test credentials, restoring the environment after."""
    saved = dict(os.environ)
    for name in AWS_UNSET:
        os.environ.pop(name, None)
    os.environ.update(AWS_ENV, AWS_ENDPOINT_URL=endpoint, **extra)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@functools.cache
def s3_client(endpoint: str) -> Any:
    """A plain boto3 client for the test's own setup and checks (not the code under test),
    one per endpoint (creating one takes a good part of a second)."""
    import boto3

    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("s3", endpoint_url=endpoint)


def new_bucket(endpoint: str, prefix: str = "t") -> str:
    """Create a bucket with a fresh name and return the name."""
    name = f"{prefix}-{uuid.uuid4().hex[:16]}"
    s3_client(endpoint).create_bucket(Bucket=name)
    return name
