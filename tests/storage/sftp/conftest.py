"""A real sshd for this package, the peer's SFTP variables pointing at its keys for each test,
and a fresh directory on the server per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streaming.storage import get_backend
from streaming.storage.sftp import SFTPBackend
from tests.storage.sftp.server import SSHDServer, start_sshd


@pytest.fixture(scope="package")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHDServer]:
    """An OpenSSH server, started once for the tests of this package."""
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def sftp_env(sshd: SSHDServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """COMPOSER_SFTP_KEY_FILE and COMPOSER_SFTP_KNOWN_HOSTS_FILE for one test (inherited by
    its DataLoader workers)."""
    for name, value in sshd.client_env.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def remote_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new, empty directory that the server serves (the server runs on this machine)."""
    return tmp_path_factory.mktemp(f"sftp-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def backend() -> SFTPBackend:
    """The process's SFTPBackend (the one downloads use)."""
    backend = get_backend("sftp://host/x")
    assert isinstance(backend, SFTPBackend)
    return backend
