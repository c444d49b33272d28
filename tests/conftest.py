from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.peers.runner import peer_venv

# Each run gets its own cache root (`$XDG_CACHE_HOME/streaming`). The node cache keeps its
# records about a directory there, keyed by the directory's path, and pytest reuses temporary
# paths from run to run: a record left by an earlier run would make a test's fresh directory
# look like another remote's cache. Tests about the root itself set their own.
_CACHE_HOME = tempfile.mkdtemp(prefix="streaming-tests-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE_HOME
atexit.register(shutil.rmtree, _CACHE_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def mosaic_python() -> Path:
    """The python of a venv holding mosaicml-streaming 0.13.0 (built once, then cached)."""
    return peer_venv("mosaic") / "bin" / "python"
