"""Fixtures of the security tests: a second, unprivileged user (the attacker) and a folder that
both users can write in (like ``/tmp``: mode 1777)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

OTHER_USER = "streaming-other"


@dataclass(frozen=True)
class OtherUser:
    """Another local user; `run` executes a shell command as that user (a separate process)."""

    name: str
    uid: int
    gid: int

    def run(self, command: str) -> str:
        """Run `command` with ``sh -c`` as this user (no supplementary groups); its stdout.
        Fails the test with its stderr if it exits non-zero."""
        proc = subprocess.run(
            ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups",
             "sh", "-c", command],
            capture_output=True,
            text=True,
            env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
            cwd="/",
            check=False,
        )  # fmt: skip
        assert proc.returncode == 0, f"as {self.name}: {command!r} failed: {proc.stderr}"
        return proc.stdout


@pytest.fixture(scope="session")
def other_user() -> OtherUser:
    """The second user, created with ``useradd`` if missing (the tests run as root). Fails
    loudly if it cannot be created: these tests need two users."""
    assert os.geteuid() == 0, "the security tests that need two users run as root"
    try:
        entry = pwd.getpwnam(OTHER_USER)
    except KeyError:
        proc = subprocess.run(
            ["useradd", "--no-create-home", "--home-dir", "/nonexistent", "--shell",
             "/usr/sbin/nologin", "--user-group", OTHER_USER],
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        assert proc.returncode == 0 or "already exists" in proc.stderr, (
            f"useradd {OTHER_USER} failed: {proc.stderr}"
        )
        entry = pwd.getpwnam(OTHER_USER)
    assert entry.pw_uid != 0
    return OtherUser(OTHER_USER, entry.pw_uid, entry.pw_gid)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A fresh folder every user may write in, with the sticky bit, as ``/tmp`` (the test's
    own ``tmp_path`` is private to root, so the other user could not reach it)."""
    path = Path(tempfile.mkdtemp(prefix="streaming-shared-", dir="/tmp"))
    path.chmod(0o1777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
