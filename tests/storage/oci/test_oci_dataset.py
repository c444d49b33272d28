"""End to end on the fake OCI server: MDSWriter uploads a dataset, StreamingDataset streams it."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from torch.utils.data import DataLoader

import streaming.storage.oci as oci_backend
from streaming import MDSWriter, StreamingDataset
from streaming.format.writer import WriterError
from streaming.storage.base import ObjectNotFoundError
from streaming.storage.oci import OCIBackend
from tests.storage.oci.conftest import NAMESPACE, OCIConfig
from tests.storage.oci.fake_server import FakeObjectStorage

COLUMNS = {"id": "int", "data": "bytes"}


def samples(n: int = 300) -> list[dict[str, Any]]:
    rng = random.Random(5)
    return [{"id": i, "data": rng.randbytes((i * 41) % 500)} for i in range(n)]


def write(out: str, rows: list[dict[str, Any]]) -> None:
    with MDSWriter(
        out=out, columns=COLUMNS, compression="zstd", hashes=["xxh64"], size_limit=8_000
    ) as writer:
        for row in rows:
            writer.write(row)


def stream_all(url: str, local: Path, **loader: Any) -> dict[int, bytes]:
    """Every sample of one epoch through a 2-worker DataLoader, by id (each id exactly once)."""
    dataset = StreamingDataset(remote=url, local=str(local), batch_size=8, validate_hash="xxh64")
    seen: dict[int, bytes] = {}
    for batch in DataLoader(dataset, batch_size=8, num_workers=2, **loader):
        for sample_id, data in zip(batch["id"].tolist(), batch["data"], strict=True):
            assert sample_id not in seen
            seen[sample_id] = data
    return seen


def test_write_then_stream_every_sample(
    bucket: str, tmp_path: Path, oci_server: FakeObjectStorage
) -> None:
    url = f"oci://{bucket}@{NAMESPACE}/ds"
    rows = samples()
    write(url, rows)
    names = OCIBackend().list_prefix(url)
    shards = [n for n in names if n != "index.json"]
    assert "index.json" in names and len(shards) >= 4
    assert all(n.startswith("shard.") and n.endswith(".mds.zstd") for n in shards)
    assert oci_server.buckets[bucket]["ds/index.json"].content_type == "application/json"

    assert stream_all(url, tmp_path / "cache-a") == {row["id"]: row["data"] for row in rows}

    by_index = StreamingDataset(remote=url, local=str(tmp_path / "cache-b"), batch_size=8)
    assert len(by_index) == len(rows)
    assert [by_index[i] for i in range(len(rows))] == rows


@pytest.mark.slow
def test_spawned_workers_find_the_endpoint_in_the_config_file(
    bucket: str, tmp_path: Path, oci_config: OCIConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No `configure` call reaches a spawned worker: the config file (found through the SDK's
    own OCI_CONFIG_FILE, with a HOME that has no ~/.oci) carries the endpoint."""
    url = f"oci://{bucket}@{NAMESPACE}/ds"
    rows = samples(60)
    write(url, rows)
    oci_backend.configure()
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("OCI_CONFIG_FILE", str(oci_config.path))
    seen = stream_all(url, tmp_path / "cache", multiprocessing_context="spawn")
    assert seen == {row["id"]: row["data"] for row in rows}


def test_failed_upload_names_the_shard(bucket: str, oci_config: OCIConfig) -> None:
    import oci

    writer = MDSWriter(out=f"oci://{bucket}@{NAMESPACE}/ds", columns=COLUMNS, size_limit=2_000)
    client = oci.object_storage.ObjectStorageClient(
        oci.config.from_file(str(oci_config.path)), service_endpoint=oci_config.endpoint
    )
    client.delete_bucket(NAMESPACE, bucket)
    shard = f"oci://{bucket}@{NAMESPACE}/ds/shard.00000.mds"
    with pytest.raises(WriterError, match=f"{shard} failed: bucket '{bucket}' does not exist"):
        with writer:
            for row in samples(40):
                writer.write(row)


def test_writer_to_a_missing_bucket_fails_at_once() -> None:
    with pytest.raises(ObjectNotFoundError, match="bucket 'no-such-bucket' does not exist"):
        MDSWriter(out=f"oci://no-such-bucket@{NAMESPACE}/ds", columns=COLUMNS)
