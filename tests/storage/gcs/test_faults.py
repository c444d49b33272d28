"""GCS downloads through the fault proxy: each fault is a transient error naming the URL, no
partial file is left, and the next attempt gets the exact bytes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from streaming.storage import PermanentStorageError, StorageError, download
from tests.storage._fault_proxy import FaultProxy
from tests.storage.gcs.server import FakeGCSServer


@pytest.mark.parametrize("kind", ["reset", "500", "503", "truncate"])
def test_each_fault_is_transient_and_retried(
    kind: str,
    fake_gcs: FakeGCSServer,
    bucket: str,
    gcs: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = os.urandom(2 << 20)
    gcs.bucket(bucket).blob("obj").upload_from_string(data)
    url = f"gs://{bucket}/obj"
    with FaultProxy(
        fake_gcs.endpoint, rate=1.0, kinds=[kind], max_faults=1, path_contains="/download/"
    ) as proxy:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
        with pytest.raises(StorageError, match=url) as info:
            download(url, str(tmp_path / "a"), attempts=1, timeout=5)
        assert not isinstance(info.value, PermanentStorageError)
        assert proxy.counts[kind] == 1 and list(tmp_path.iterdir()) == []
        download(url, str(tmp_path / "b"), attempts=2, timeout=5)
    assert (tmp_path / "b").read_bytes() == data
    assert [p.name for p in tmp_path.iterdir()] == ["b"]
