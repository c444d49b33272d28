from __future__ import annotations

from pathlib import Path

import pytest

from tests.dataset._support import write_ids


@pytest.fixture(scope="session")
def ids_data(tmp_path_factory: pytest.TempPathFactory) -> str:
    """60 samples ``{"id": i, "pad": ...}`` over several shards, shared by every adapter test,
    with a ``val`` split of 12 more."""
    root: Path = tmp_path_factory.mktemp("integrations")
    write_ids(root / "data", range(60))
    write_ids(root / "data" / "val", range(100, 112))
    return str(root / "data")
