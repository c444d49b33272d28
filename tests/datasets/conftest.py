from __future__ import annotations

from pathlib import Path

import pytest

from streaming.storage import registry
from tests.datasets._fake_store import FakeBackend


@pytest.fixture
def fake_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Register the ``fake://`` scheme for this test; returns the folder behind it."""
    monkeypatch.setitem(
        registry.SCHEMES, "fake", ("tests.datasets._fake_store", "FakeBackend", None)
    )
    monkeypatch.setattr(registry, "_instances", {})
    monkeypatch.setattr(FakeBackend, "root", str(tmp_path / "store"))
    return tmp_path / "store"
