from __future__ import annotations

from pathlib import Path

import pytest

from tests.peers.runner import peer_venv


@pytest.fixture(scope="session")
def mosaic_python() -> Path:
    """The python of a venv holding mosaicml-streaming 0.13.0 (built once, then cached)."""
    return peer_venv("mosaic") / "bin" / "python"
