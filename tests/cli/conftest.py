from __future__ import annotations

from tests.datasets.conftest import fake_store  # noqa: F401  (the fake:// object store)
