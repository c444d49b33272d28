"""Our loopback Databricks workspace (`tests.storage.dbfs.workspace_server`) for this package,
the SDK's variables pointing at it for each test, and a fresh volume and DBFS directory."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streaming.storage import get_backend
from streaming.storage.dbfs import DBFSBackend
from tests.storage._server import ServerProcess, free_port

TOKEN = "dapi0123456789abcdef0123456789abcdef"
_REPO_ROOT = Path(__file__).resolve().parents[3]


class Workspace(ServerProcess):
    """The running workspace: `root` holds its files, `host` is its URL."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.host = f"http://127.0.0.1:{port}"
        super().__init__(
            "databricks", [sys.executable, "-m", "tests.storage.dbfs.workspace_server",
                           "--root", str(root), "--port", str(port), "--token", TOKEN],
            ready_url=f"{self.host}/_fake/ready", ready_status=401,  # no token: refused
            cwd=str(_REPO_ROOT),
        )

    def requests(self) -> list[str]:
        """``METHOD path`` of every API request so far (not the SDK's discovery requests)."""
        log = self.root / "requests.log"
        lines = log.read_text().splitlines() if log.exists() else []
        return [line for line in lines if " /api/" in line]


@pytest.fixture(scope="package")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """The workspace, started once for the tests of this package."""
    server = Workspace(tmp_path_factory.mktemp("databricks"), free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def databricks_env(workspace: Workspace, tmp_path_factory: pytest.TempPathFactory,
                   monkeypatch: pytest.MonkeyPatch) -> str:
    """DATABRICKS_HOST and DATABRICKS_TOKEN for one test (inherited by its DataLoader
    workers); no ~/.databrickscfg."""
    for name in ("DATABRICKS_CONFIG_PROFILE", "DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET",
                 "DATABRICKS_AUTH_TYPE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path_factory.getbasetemp() / "none.cfg"))
    monkeypatch.setenv("DATABRICKS_HOST", workspace.host)
    monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
    return workspace.host


@pytest.fixture
def volume(workspace: Workspace) -> tuple[str, Path]:
    """A new, empty volume: its ``/Volumes/...`` path, and its directory on disk."""
    rel = f"Volumes/main/default/v{uuid.uuid4().hex[:10]}"
    (workspace.root / rel).mkdir(parents=True)
    return "/" + rel, workspace.root / rel


@pytest.fixture
def dbfs_dir(workspace: Workspace) -> tuple[str, Path]:
    """A new, empty DBFS directory: its path, and its directory on disk."""
    rel = f"tmp/d{uuid.uuid4().hex[:10]}"
    (workspace.root / "dbfs" / rel).mkdir(parents=True)
    return "/" + rel, workspace.root / "dbfs" / rel


@pytest.fixture
def backend() -> DBFSBackend:
    """The process's DBFSBackend (the one downloads use)."""
    backend = get_backend("dbfs:/Volumes/x")
    assert isinstance(backend, DBFSBackend)
    return backend
