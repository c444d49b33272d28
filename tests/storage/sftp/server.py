"""A real OpenSSH server on loopback for the sftp:// tests (started by ``scripts/sshd.sh``,
which installs openssh-server first on a fresh machine).

    server = start_sshd(tmp_dir)      # ready: it has sent its SSH banner
    server.client_env                 # COMPOSER_SFTP_KEY_FILE / _KNOWN_HOSTS_FILE for it
    server.url("/some/dir")           # sftp://<user>@127.0.0.1:<port>/some/dir
    server.stop()
"""

from __future__ import annotations

import getpass
import socket
import subprocess
import time
from pathlib import Path

from tests.storage._server import ServerProcess, free_port

__all__ = ["SSHDServer", "start_sshd"]

_SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "sshd.sh"


def _banner(port: int) -> bytes:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            return s.recv(64)
    except OSError:
        return b""


class SSHDServer(ServerProcess):
    """A running sshd (as this user, its own config and keys in `directory`)."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self.user = getpass.getuser()
        # Installing openssh-server on a fresh machine takes a while: hence the long wait.
        super().__init__(
            "sshd", ["bash", str(_SCRIPT), str(directory), str(port)],
            ready_url="", startup_timeout=600,
        )

    @property
    def client_env(self) -> dict[str, str]:
        """The peer's variables that let paramiko log in and trust this server."""
        return {
            "COMPOSER_SFTP_KEY_FILE": str(self.directory / "user_key"),
            "COMPOSER_SFTP_KNOWN_HOSTS_FILE": str(self.directory / "known_hosts"),
        }

    def url(self, path: str) -> str:
        """The sftp:// URL of the absolute `path` on this server."""
        return f"sftp://{self.user}@127.0.0.1:{self.port}{path}"

    def start(self) -> SSHDServer:
        """Start it and wait for its SSH banner; fail loudly with its output if it does not
        come."""
        self.proc = subprocess.Popen(
            self.argv, stdout=self._log, stderr=subprocess.STDOUT, env=self.env,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"sshd exited with {self.proc.returncode} before it was ready:\n"
                    f"{self.output()}"
                )
            if _banner(self.port).startswith(b"SSH-2.0-"):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"sshd did not answer on 127.0.0.1:{self.port} within {self.startup_timeout} s:\n"
            f"{self.output()}"
        )


def start_sshd(directory: Path) -> SSHDServer:
    """Start sshd on a free loopback port with keys and config in `directory`."""
    return SSHDServer(directory, free_port()).start()
