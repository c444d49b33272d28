"""Fixtures of the cache tests: a small dataset behind the ``counting://`` backend, and a way to
run a script in a separate Python process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from streaming import MDSWriter
from tests.cache._backends import register

REPO = str(Path(__file__).resolve().parents[2])

register()


def write_dataset(
    root: Path, n: int = 300, compression: str | None = None, size_limit: int = 2000
) -> list[dict]:
    """`n` samples ``{"id": i, "data": 20 bytes}`` in shards of about `size_limit` bytes."""
    samples = [{"id": i, "data": bytes([i % 256]) * 20} for i in range(n)]
    with MDSWriter(
        out=str(root),
        columns={"id": "int", "data": "bytes"},
        compression=compression,
        hashes=["xxh64"],
        size_limit=size_limit,
    ) as writer:
        for sample in samples:
            writer.write(sample)
    return samples


@pytest.fixture(autouse=True)
def private_cache_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's per-user cache root (records, locks, default caches) is its own."""
    root = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(root))
    return root


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """An uncompressed dataset of 300 samples in 6 shards, read as ``counting://<path>``."""
    root = tmp_path / "remote"
    write_dataset(root)
    return root


def url(root: Path) -> str:
    return f"counting://{root}"


PRELUDE = f"""
import json, os, sys, time
sys.path.insert(0, {REPO!r})
from tests.cache._backends import register
register()
from streaming import StreamingDataset
"""


def start(script: str, **env: str) -> subprocess.Popen[str]:
    """Start `script` (after a prelude that registers ``counting://``) in a new interpreter."""
    return subprocess.Popen(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
        cwd=REPO,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> str:
    """Wait for `proc`; its stdout, or an assertion error with its stderr."""
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}:\n{err[-3000:]}"
    return out
