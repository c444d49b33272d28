"""Start a real storage server on loopback for the tests, wait until it answers, stop it by PID.

Used by the session fixtures in ``tests/storage/<backend>/conftest.py``. A server that cannot be
started fails the tests loudly (never a skip): the message carries the server's own output.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence

__all__ = ["ServerProcess", "free_port"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, ValueError):
        return None


class ServerProcess:
    """A server started as a plain command (its PID is the server's own, not a shell's).

    Args:
        name: For messages (``"moto"``).
        argv: The command.
        ready_url: A URL that answers `ready_status` once the server is up.
        ready_status: The HTTP status that means ready.
        env: Extra environment variables.
        cwd: Working directory.
        startup_timeout: Seconds to wait for readiness before failing.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        ready_url: str,
        ready_status: int = 200,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        startup_timeout: float = 60,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.ready_url = ready_url
        self.ready_status = ready_status
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()

    def start(self) -> ServerProcess:
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,  # its own process group: stop() takes its children too
            )
        except OSError as e:
            raise RuntimeError(f"Could not start the {self.name} server ({self.argv}): {e}") from e
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"The {self.name} server exited with {self.proc.returncode} before it was "
                    f"ready:\n{self.output()}"
                )
            if _status(self.ready_url) == self.ready_status:
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"The {self.name} server did not answer {self.ready_url} with {self.ready_status} "
            f"within {self.startup_timeout} s:\n{self.output()}"
        )

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-4000:]

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def stop(self) -> None:
        """SIGTERM to its process group, then SIGKILL after 5 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        except ProcessLookupError:
            pass
