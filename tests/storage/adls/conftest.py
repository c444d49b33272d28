"""Our loopback Data Lake Gen2 account (`tests.storage.adls.dfs_server`) for this package, the
connection string pointing at it for each test, and a fresh filesystem per test."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streaming.storage import get_backend
from streaming.storage.adls import ADLSBackend
from tests.storage._server import ServerProcess, free_port

#: azurite's well-known development account and key (public, in Azure's documentation).
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
_REPO_ROOT = Path(__file__).resolve().parents[3]


class DFSServer(ServerProcess):
    """The running account: `root` holds its filesystems, `endpoint` is its URL."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.endpoint = f"http://127.0.0.1:{port}/{ACCOUNT}"
        super().__init__(
            "dfs",
            [sys.executable, "-m", "tests.storage.adls.dfs_server", "--root", str(root),
             "--port", str(port), "--account", ACCOUNT, "--key", ACCOUNT_KEY],
            ready_url=f"http://127.0.0.1:{port}/", ready_status=400,  # unsigned: refused
            cwd=str(_REPO_ROOT),
        )

    def connection_string(self, key: str = ACCOUNT_KEY) -> str:
        """The account's connection string (with another key, to test refusal)."""
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={key};"
                f"BlobEndpoint={self.endpoint};")

    def requests(self) -> list[str]:
        """``METHOD path?query`` of every request so far."""
        log = self.root / "requests.log"
        return log.read_text().splitlines() if log.exists() else []


@pytest.fixture(scope="package")
def dfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DFSServer]:
    """The account, started once for the tests of this package."""
    server = DFSServer(tmp_path_factory.mktemp("dfs"), free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def adls_env(dfs: DFSServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """AZURE_STORAGE_CONNECTION_STRING for one test (inherited by its DataLoader workers)."""
    for name in ("AZURE_ACCOUNT_NAME", "AZURE_ACCOUNT_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", dfs.connection_string())
    return dfs.endpoint


@pytest.fixture
def filesystem(dfs: DFSServer) -> tuple[str, Path]:
    """A new, empty filesystem: its name, and its directory on disk."""
    name = f"fs-{uuid.uuid4().hex[:12]}"
    (dfs.root / name).mkdir()
    return name, dfs.root / name


@pytest.fixture
def backend() -> ADLSBackend:
    """The process's backend for azure-dl:// (the one downloads use)."""
    backend = get_backend("azure-dl://fs/x")
    assert isinstance(backend, ADLSBackend)
    return backend
