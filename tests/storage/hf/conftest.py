"""Our loopback Hub for this package, the SDK's variables (HF_ENDPOINT, HF_TOKEN) pointing at
it for each test, and a fresh private dataset repository per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streaming.storage import get_backend
from streaming.storage.hf import HFBackend
from tests.storage.hf.hub_server import create_repo
from tests.storage.hf.server import TOKEN, HubServer, start_hub


@pytest.fixture(scope="package")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    """The loopback Hub, started once for the tests of this package."""
    server = start_hub(tmp_path_factory.mktemp("hub"))
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def hf_env(hub: HubServer, tmp_path_factory: pytest.TempPathFactory,
           monkeypatch: pytest.MonkeyPatch) -> str:
    """HF_ENDPOINT and HF_TOKEN for one test (inherited by its DataLoader workers); HF_HOME
    empty, so no saved login is used."""
    for name in ("HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("HF_HOME", str(tmp_path_factory.mktemp("hf-home")))
    return hub.endpoint


@pytest.fixture
def repo(hub: HubServer) -> tuple[str, Path]:
    """A new, empty private dataset repository: its id, and its files directory on disk."""
    repo_id = f"org/ds-{uuid.uuid4().hex[:12]}"
    return repo_id, create_repo(hub.root, repo_id)


@pytest.fixture
def backend() -> HFBackend:
    """The process's HFBackend (the one downloads use)."""
    backend = get_backend("hf://datasets/org/name/x")
    assert isinstance(backend, HFBackend)
    return backend
