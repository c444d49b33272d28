"""SFTPBackend against a real OpenSSH server on loopback, through paramiko: bytes, errors,
listing, host and key checks, the download deadline."""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from streaming.storage import (
    DownloadTimeoutError,
    ObjectNotFoundError,
    StorageAuthError,
    StorageError,
    download,
    get_backend,
)
from streaming.storage.download import upload
from streaming.storage.sftp import SFTPBackend, parse_sftp_url
from tests.storage.sftp.server import SSHDServer


def _listdir(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def test_registry_serves_sftp() -> None:
    assert isinstance(get_backend("sftp://user@example.com:2222/data/x"), SFTPBackend)


def test_parse_url() -> None:
    loc = parse_sftp_url("sftp://me:p%40ss@example.com:2222/data/a%20b")
    assert (loc.host, loc.port, loc.username, loc.password, loc.path) == (
        "example.com", 2222, "me", "p@ss", "/data/a b"
    )
    assert parse_sftp_url("sftp://example.com/x").port == 22
    with pytest.raises(ValueError, match="has a query or fragment"):
        parse_sftp_url("sftp://example.com/x?y=1")
    with pytest.raises(ValueError, match="names no host"):
        parse_sftp_url("sftp:///x")


def test_upload_then_download_is_byte_identical(
    backend: SFTPBackend, sshd: SSHDServer, remote_dir: Path, tmp_path: Path
) -> None:
    data = os.urandom(3 * (1 << 20) + 17)  # several 1 MiB pieces and a tail
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    url = sshd.url(f"{remote_dir}/dir/sub/obj.bin")
    upload(str(src), url)  # the writers' path: creates the missing directories
    assert (remote_dir / "dir" / "sub" / "obj.bin").read_bytes() == data
    assert _listdir(remote_dir / "dir" / "sub") == ["obj.bin"]  # no temporary name left
    dest = tmp_path / "out" / "nested" / "obj.bin"
    download(url, str(dest), attempts=1, timeout=30)
    assert dest.read_bytes() == data
    assert _listdir(dest.parent) == ["obj.bin"]
    src.write_bytes(b"replaced")
    backend.upload_file(str(src), url)  # replaces the object in place
    assert (remote_dir / "dir" / "sub" / "obj.bin").read_bytes() == b"replaced"
    assert _listdir(remote_dir / "dir" / "sub") == ["obj.bin"]


def test_empty_file(backend: SFTPBackend, sshd: SSHDServer, remote_dir: Path,
                    tmp_path: Path) -> None:
    (remote_dir / "empty").write_bytes(b"")
    backend.download_file(sshd.url(f"{remote_dir}/empty"), str(tmp_path / "e"), timeout=10)
    assert (tmp_path / "e").read_bytes() == b""


def test_missing_file_fails_at_once(
    backend: SFTPBackend, sshd: SSHDServer, remote_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = []
    real = backend.download_file
    monkeypatch.setattr(backend, "download_file", lambda *a: calls.append(a) or real(*a))
    url = sshd.url(f"{remote_dir}/no/such/file")
    with pytest.raises(ObjectNotFoundError, match=f"Download of {url} failed: no such file"):
        download(url, str(tmp_path / "x"), attempts=5, timeout=10)
    assert len(calls) == 1  # permanent: not retried
    assert _listdir(tmp_path) == []


def test_exists_and_list_prefix(backend: SFTPBackend, sshd: SSHDServer, remote_dir: Path) -> None:
    for name in ["index.json", "a/1", "a/2", "b", "c/d/e"]:
        (remote_dir / "ds" / name).parent.mkdir(parents=True, exist_ok=True)
        (remote_dir / "ds" / name).write_bytes(b"x")
    (remote_dir / "ds2").mkdir()
    (remote_dir / "ds2" / "not-mine").write_bytes(b"")
    assert backend.list_prefix(sshd.url(f"{remote_dir}/ds")) == [
        "a/1", "a/2", "b", "c/d/e", "index.json"
    ]
    assert backend.list_prefix(sshd.url(f"{remote_dir}/ds/")) == backend.list_prefix(
        sshd.url(f"{remote_dir}/ds")
    )
    assert backend.list_prefix(sshd.url(f"{remote_dir}/nothing-here")) == []
    assert backend.exists(sshd.url(f"{remote_dir}/ds/a/1"))
    assert not backend.exists(sshd.url(f"{remote_dir}/ds/a/3"))
    assert not backend.exists(sshd.url(f"{remote_dir}/ds/a"))  # a directory is not a file


def test_unknown_host_key_is_refused(
    backend: SFTPBackend, sshd: SSHDServer, remote_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (remote_dir / "f").write_bytes(b"x")
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    monkeypatch.setenv("COMPOSER_SFTP_KNOWN_HOSTS_FILE", str(empty))
    with pytest.raises(StorageAuthError, match="COMPOSER_SFTP_KNOWN_HOSTS_FILE") as info:
        download(sshd.url(f"{remote_dir}/f"), str(tmp_path / "out" / "f"), attempts=3)
    assert "127.0.0.1" in str(info.value)
    assert not (tmp_path / "out" / "f").exists()


def test_wrong_key_is_refused(
    backend: SFTPBackend, sshd: SSHDServer, remote_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    monkeypatch.setenv("COMPOSER_SFTP_KEY_FILE", str(other))
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ssh/id_* to fall back on
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    with pytest.raises(StorageAuthError, match="the server refused the login.*COMPOSER_SFTP_KEY"):
        backend.exists(sshd.url(f"{remote_dir}/f"))


def test_pickled_backend_reconnects(backend: SFTPBackend, sshd: SSHDServer,
                                    remote_dir: Path) -> None:
    (remote_dir / "f").write_bytes(b"x")
    assert backend.exists(sshd.url(f"{remote_dir}/f"))  # this thread now holds a connection
    clone = pickle.loads(pickle.dumps(backend))
    assert clone.exists(sshd.url(f"{remote_dir}/f"))


class _FreezingProxy:
    """A TCP relay to `port` that stops passing the server's bytes once `freeze` is set."""

    def __init__(self, port: int) -> None:
        self.upstream = port
        self.freeze = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, freezes: bool) -> None:
        try:
            while data := src.recv(1 << 16):
                while freezes and self.freeze.is_set():
                    time.sleep(0.05)
                dst.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        self.sock.close()


def test_stalled_download_times_out(
    backend: SFTPBackend, sshd: SSHDServer, remote_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (remote_dir / "big").write_bytes(os.urandom(8 << 20))
    proxy = _FreezingProxy(sshd.port)
    hosts = tmp_path / "known_hosts"
    line = (sshd.directory / "known_hosts").read_text().split(" ", 1)[1]
    hosts.write_text(f"[127.0.0.1]:{proxy.port} {line}")
    monkeypatch.setenv("COMPOSER_SFTP_KNOWN_HOSTS_FILE", str(hosts))
    url = f"sftp://{sshd.user}@127.0.0.1:{proxy.port}{remote_dir}/big"
    try:
        assert backend.exists(url)  # connected through the proxy
        proxy.freeze.set()
        started = time.monotonic()
        with pytest.raises(DownloadTimeoutError, match=f"Download of {url}"):
            backend.download_file(url, str(tmp_path / "big"), timeout=1.5)
        assert time.monotonic() - started < 4
        assert _listdir(tmp_path) == ["known_hosts"]  # no partial file
        proxy.freeze.clear()
        backend.download_file(url, str(tmp_path / "big"), timeout=30)  # a fresh connection
        assert (tmp_path / "big").read_bytes() == (remote_dir / "big").read_bytes()
    finally:
        proxy.close()


def test_compat_uploader_reaches_sftp(sshd: SSHDServer, remote_dir: Path, tmp_path: Path) -> None:
    from streaming.base.storage.upload import CloudUploader

    uploader = CloudUploader.get((str(tmp_path / "out"), sshd.url(f"{remote_dir}/ds")))
    (tmp_path / "out" / "a.bin").write_bytes(b"abc")
    uploader.upload_file("a.bin")
    assert (remote_dir / "ds" / "a.bin").read_bytes() == b"abc"
    assert uploader.list_objects() == ["a.bin"]


def test_silent_server_is_bounded(backend: SFTPBackend, tmp_path: Path) -> None:
    """A server that accepts the connection and never speaks: the download's timeout bounds
    the SSH handshake too."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(StorageError, match=f"Download of sftp://u@127.0.0.1:{port}/f failed"):
            backend.download_file(f"sftp://u@127.0.0.1:{port}/f", str(tmp_path / "f"), timeout=1)
        assert time.monotonic() - started < 3
    assert list(tmp_path.iterdir()) == []
