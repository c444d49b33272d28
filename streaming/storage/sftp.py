"""``sftp://[user[:password]@]host[:port]/absolute/path`` through paramiko.

The path is the absolute path on the server (``sftp://host/data/ds`` is ``/data/ds``); the port
defaults to 22 and the user to paramiko's default (this process's user). Authentication and host
checking follow mosaicml-streaming:

* ``COMPOSER_SFTP_KEY_FILE``: a private key file to log in with (besides a password in the URL,
  an SSH agent and ``~/.ssh/id_*``, which paramiko tries by itself);
* ``COMPOSER_SFTP_KNOWN_HOSTS_FILE``: the known-hosts file that holds the server's host key
  (default ``~/.ssh/known_hosts``). A server whose key is not there is refused.

Each thread keeps one SSH connection per server and user (an SFTP session is not thread-safe).
A download reads the file in 1 MiB pieces with prefetching; each socket read waits at most the
time left before the download's deadline, and the clock is checked after every piece. Uploads
write a temporary name beside the target and rename it over the target (OpenSSH's
``posix-rename``), creating missing directories, so readers never see half a file. The peer has
no SFTP uploader; ours writes what its downloader reads.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import paramiko

from streaming.storage.base import (
    Backend,
    DownloadTimeoutError,
    ObjectNotFoundError,
    StorageAuthError,
    StorageError,
    atomic_download_path,
    copy_chunks,
)

__all__ = ["SFTPBackend", "SFTPLocation", "parse_sftp_url"]

#: Seconds to wait for the TCP connection, the SSH banner and authentication (a download waits
#: at most its own timeout, if shorter).
CONNECT_TIMEOUT = 20.0
#: Seconds an upload or listing request may wait for the server.
REQUEST_TIMEOUT = 120.0
_CHUNK = 1 << 20
_KEY_ENV = "COMPOSER_SFTP_KEY_FILE"
_HOSTS_ENV = "COMPOSER_SFTP_KNOWN_HOSTS_FILE"


@dataclass(frozen=True)
class SFTPLocation:
    """Where an ``sftp://`` URL points: the server, the login, and the absolute path."""

    host: str
    port: int
    username: str | None
    password: str | None
    path: str


def parse_sftp_url(url: str) -> SFTPLocation:
    """Split ``sftp://[user[:password]@]host[:port]/path``; rejects a query or fragment (the
    peer does too) and a missing host."""
    parts = urlsplit(url)
    if parts.scheme != "sftp":
        raise ValueError(f"Not an sftp:// URL: {url!r}")
    if not parts.hostname:
        raise ValueError(f"SFTP URL {url!r} names no host: expected sftp://[user@]host[:port]/path")
    if parts.query or parts.fragment:
        raise ValueError(f"SFTP URL {url!r} has a query or fragment, which SFTP paths cannot hold")
    return SFTPLocation(
        host=parts.hostname,
        port=parts.port or 22,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        path=unquote(parts.path) or "/",
    )


def _translate(err: BaseException, url: str, what: str) -> Exception:
    """Our error for a paramiko or socket failure on `url`."""
    if isinstance(err, StorageError):
        return err
    if isinstance(err, paramiko.BadHostKeyException):
        return StorageAuthError(
            f"{what} {url} failed: the server's host key does not match the known one ({err}); "
            f"check {_HOSTS_ENV}"
        )
    if isinstance(err, paramiko.AuthenticationException):
        return StorageAuthError(
            f"{what} {url} failed: the server refused the login ({err}); put the user in the URL "
            f"(sftp://user@host/...) and set {_KEY_ENV} to a private key it accepts"
        )
    if isinstance(err, paramiko.SSHException) and "known_hosts" in str(err):
        return StorageAuthError(
            f"{what} {url} failed: {err}; add the server's host key to the file named by "
            f"{_HOSTS_ENV} (default ~/.ssh/known_hosts)"
        )
    if isinstance(err, OSError) and err.errno == errno.ENOENT:
        return ObjectNotFoundError(f"{what} {url} failed: no such file on the server")
    if isinstance(err, OSError) and err.errno == errno.EACCES:
        return StorageAuthError(f"{what} {url} failed: permission denied on the server")
    if isinstance(err, (socket.timeout, TimeoutError)) and what == "Download of":
        return DownloadTimeoutError(f"{what} {url} timed out: {err}")
    return StorageError(f"{what} {url} failed: {type(err).__name__}: {err}")


class _Connection:
    """One SSH connection and its SFTP session."""

    def __init__(self, loc: SFTPLocation, timeout: float) -> None:
        self.ssh = paramiko.SSHClient()
        self.ssh.load_system_host_keys(os.environ.get(_HOSTS_ENV) or None)
        self.ssh.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            self.ssh.connect(
                hostname=loc.host,
                port=loc.port,
                username=loc.username,
                password=loc.password,
                key_filename=os.environ.get(_KEY_ENV) or None,
                timeout=timeout,
                banner_timeout=timeout,
                auth_timeout=timeout,
                channel_timeout=timeout,
            )
            self.sftp = self.ssh.open_sftp()
        except BaseException:
            self.ssh.close()
            raise

    def close(self) -> None:
        self.ssh.close()


class SFTPBackend(Backend):
    """``sftp://`` URLs through paramiko (see the module docstring for the settings it reads)."""

    schemes = ("sftp",)

    def __init__(self) -> None:
        self._client_local = threading.local()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__init__()  # type: ignore[misc]  # connections are never pickled: start afresh

    def _connection(self, loc: SFTPLocation, timeout: float) -> _Connection:
        key = (loc.host, loc.port, loc.username, loc.password,
               os.environ.get(_KEY_ENV), os.environ.get(_HOSTS_ENV))
        conns: dict[tuple[Any, ...], _Connection] = self._client_local.__dict__.setdefault(
            "conns", {}
        )
        conn = conns.get(key)
        transport = conn.ssh.get_transport() if conn is not None else None
        if conn is None or transport is None or not transport.is_active():
            conns[key] = conn = _Connection(loc, timeout)
        return conn

    def _drop(self, loc: SFTPLocation) -> None:
        """Close this thread's connections to `loc`'s server (after a failure: a broken or
        timed-out session must not serve the next attempt)."""
        conns = self._client_local.__dict__.get("conns", {})
        for key in [k for k in conns if k[:4] == (loc.host, loc.port, loc.username, loc.password)]:
            conns.pop(key).close()

    def _run(self, url: str, what: str, op: Any, timeout: float = REQUEST_TIMEOUT) -> Any:
        loc = parse_sftp_url(url)
        try:
            conn = self._connection(loc, min(timeout, CONNECT_TIMEOUT))
            conn.sftp.get_channel().settimeout(timeout)
            return op(conn.sftp, loc.path)
        except (ObjectNotFoundError, StorageAuthError):
            raise
        except Exception as e:
            error = _translate(e, url, what)
            if not isinstance(error, (ObjectNotFoundError, StorageAuthError)):
                self._drop(loc)
            raise error from e

    def download_file(self, remote_url: str, local_path: str, timeout: float = 60) -> None:
        """Read the file into `local_path` (atomically) within `timeout` seconds."""
        started = time.monotonic()
        deadline = started + timeout

        def fetch(sftp: paramiko.SFTPClient, path: str) -> None:
            channel = sftp.get_channel()
            with sftp.open(path, "rb") as f:
                size = f.stat().st_size
                f.prefetch(size)

                def pieces() -> Any:
                    while True:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            raise DownloadTimeoutError(
                                f"Download of {remote_url} took longer than {timeout} s"
                            )
                        channel.settimeout(left)
                        piece = f.read(_CHUNK)
                        if not piece:
                            return
                        yield piece

                with atomic_download_path(local_path) as tmp, open(tmp, "wb") as out:
                    copy_chunks(pieces(), out, remote_url, timeout, size, started)

        self._run(remote_url, "Download of", fetch, timeout=min(float(timeout), CONNECT_TIMEOUT))

    def upload_file(self, local_path: str, remote_url: str) -> None:
        """Put the file at `remote_url` under a temporary name, then rename it into place."""

        def put(sftp: paramiko.SFTPClient, path: str) -> None:
            _makedirs(sftp, os.path.dirname(path))
            tmp = f"{path}.tmp-{uuid.uuid4().hex[:12]}"
            try:
                sftp.put(local_path, tmp, confirm=True)
                sftp.posix_rename(tmp, path)
            except BaseException:
                try:
                    sftp.remove(tmp)
                except OSError:
                    pass
                raise

        self._run(remote_url, f"Upload of {local_path} to", put)

    def list_prefix(self, remote_url: str) -> list[str]:
        """Every file under the directory `remote_url` (recursively), relative to it, sorted;
        empty when the directory does not exist."""

        def walk(sftp: paramiko.SFTPClient, path: str) -> list[str]:
            root = path.rstrip("/") or "/"
            out: list[str] = []
            pending = [""]
            while pending:
                rel = pending.pop()
                try:
                    entries = sftp.listdir_attr(f"{root}/{rel}".rstrip("/") if rel else root)
                except OSError as e:
                    if e.errno == errno.ENOENT and not rel:
                        return []
                    raise
                for entry in entries:
                    name = f"{rel}/{entry.filename}" if rel else entry.filename
                    if stat.S_ISDIR(entry.st_mode or 0):
                        pending.append(name)
                    else:
                        out.append(name)
            return sorted(out)

        return self._run(remote_url, "Listing of", walk)

    def exists(self, remote_url: str) -> bool:
        """Whether a regular file is at `remote_url`."""

        def check(sftp: paramiko.SFTPClient, path: str) -> bool:
            try:
                return stat.S_ISREG(sftp.stat(path).st_mode or 0)
            except OSError as e:
                if e.errno == errno.ENOENT:
                    return False
                raise

        return bool(self._run(remote_url, "Existence check of", check))


def _makedirs(sftp: paramiko.SFTPClient, directory: str) -> None:
    """``mkdir -p`` on the server."""
    missing = []
    while directory not in ("", "/"):
        try:
            if stat.S_ISDIR(sftp.stat(directory).st_mode or 0):
                break
            raise NotADirectoryError(errno.ENOTDIR, "not a directory", directory)
        except FileNotFoundError:
            missing.append(directory)
            directory = os.path.dirname(directory)
    for path in reversed(missing):
        try:
            sftp.mkdir(path)
        except OSError:
            if not stat.S_ISDIR(sftp.stat(path).st_mode or 0):  # made meanwhile by another writer
                raise
