"""A real azurite (Azure Blob Storage emulator) on loopback for the session.

azurite 3.35.0 comes from npm into ``<repo>/.servers/azurite`` (git-ignored) on first use; a
file lock keeps parallel runs from installing it twice. 3.35.0 is pinned because later versions
need Node 22. If npm fails, the tests fail with npm's output: they never skip.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

from tests.storage._server import ServerProcess, free_port

AZURITE_VERSION = "3.35.0"
REPO = Path(__file__).resolve().parents[3]
SERVERS = REPO / ".servers"
#: azurite's well-known development account and key (public, in Azure's documentation).
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def azurite_binary() -> Path:
    """The ``azurite-blob`` launcher, installed with npm if it is not there yet."""
    folder = SERVERS / "azurite"
    binary = folder / "node_modules" / ".bin" / "azurite-blob"
    package = folder / "node_modules" / "azurite" / "package.json"
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(SERVERS / "azurite.lock")):
        if binary.exists() and json.loads(package.read_text())["version"] == AZURITE_VERSION:
            return binary
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed to install azurite for the Azure tests: not found")
        done = subprocess.run(
            [npm, "install", "--prefix", str(folder), f"azurite@{AZURITE_VERSION}",
             "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or not binary.exists():
            raise RuntimeError(
                f"npm install azurite@{AZURITE_VERSION} failed ({done.returncode}):\n"
                f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
    return binary


@dataclass(frozen=True)
class Azurite:
    """A running azurite: its blob endpoint and connection strings."""

    endpoint: str

    def connection_string(self, key: str = ACCOUNT_KEY) -> str:
        """The development account's connection string (with another key, to test refusal)."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={key};"
            f"BlobEndpoint={self.endpoint};"
        )


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """azurite's blob service on a free loopback port, in memory, stopped by PID at the end."""
    port = free_port()
    server = ServerProcess(
        "azurite",
        [
            str(azurite_binary()), "--blobHost", "127.0.0.1", "--blobPort", str(port),
            "--inMemoryPersistence", "--skipApiVersionCheck", "--loose",
            "--disableTelemetry", "--silent",
        ],
        ready_url=f"http://127.0.0.1:{port}/{ACCOUNT}?comp=list",
        ready_status=403,
    ).start()
    try:
        yield Azurite(f"http://127.0.0.1:{port}/{ACCOUNT}")
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def azure_env(azurite: Azurite, monkeypatch: pytest.MonkeyPatch) -> Azurite:
    """Every test here reaches azurite through ``AZURE_STORAGE_CONNECTION_STRING`` only."""
    for name in ("AZURE_ACCOUNT_NAME", "AZURE_ACCOUNT_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string())
    return azurite


@pytest.fixture
def container(azurite: Azurite) -> Iterator[str]:
    """A fresh, empty container's name, deleted afterwards."""
    from azure.core.exceptions import ResourceNotFoundError
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(azurite.connection_string())
    name = f"test-{uuid.uuid4().hex[:12]}"
    service.create_container(name)
    yield name
    with contextlib.suppress(ResourceNotFoundError):  # a test may have deleted it
        service.delete_container(name)
