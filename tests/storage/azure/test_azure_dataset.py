"""End to end on azurite: MDSWriter uploads a dataset, StreamingDataset streams it back."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from torch.utils.data import DataLoader

from streaming import MDSWriter, StreamingDataset
from streaming.format.writer import WriterError
from streaming.storage.azure import AzureBackend
from streaming.storage.base import ObjectNotFoundError
from tests.storage.azure.conftest import Azurite

COLUMNS = {"id": "int", "data": "bytes"}


def samples(n: int = 300) -> list[dict[str, Any]]:
    rng = random.Random(4)
    return [{"id": i, "data": rng.randbytes((i * 37) % 500)} for i in range(n)]


def write(out: str, rows: list[dict[str, Any]]) -> None:
    with MDSWriter(
        out=out, columns=COLUMNS, compression="zstd", hashes=["xxh64"], size_limit=8_000
    ) as writer:
        for row in rows:
            writer.write(row)


def test_write_then_stream_every_sample(container: str, tmp_path: Path) -> None:
    url = f"azure://{container}/ds"
    rows = samples()
    write(url, rows)
    names = AzureBackend().list_prefix(url)
    shards = [n for n in names if n != "index.json"]
    assert "index.json" in names and len(shards) >= 4
    assert all(n.startswith("shard.") and n.endswith(".mds.zstd") for n in shards)

    dataset = StreamingDataset(
        remote=url, local=str(tmp_path / "cache-a"), batch_size=8, validate_hash="xxh64"
    )
    seen: dict[int, bytes] = {}
    for batch in DataLoader(dataset, batch_size=8, num_workers=2):
        for sample_id, data in zip(batch["id"].tolist(), batch["data"], strict=True):
            assert sample_id not in seen
            seen[sample_id] = data
    assert seen == {row["id"]: row["data"] for row in rows}

    by_index = StreamingDataset(remote=url, local=str(tmp_path / "cache-b"), batch_size=8)
    assert len(by_index) == len(rows)
    assert [by_index[i] for i in range(len(rows))] == rows


def test_failed_upload_names_the_shard(azurite: Azurite, container: str) -> None:
    from azure.storage.blob import BlobServiceClient

    writer = MDSWriter(out=f"azure://{container}/ds", columns=COLUMNS, size_limit=2_000)
    BlobServiceClient.from_connection_string(azurite.connection_string()).delete_container(
        container
    )
    shard = f"azure://{container}/ds/shard.00000.mds"
    with pytest.raises(WriterError, match=f"{shard} failed: Azure container '{container}' does"):
        with writer:
            for row in samples(40):
                writer.write(row)


def test_writer_to_a_missing_container_fails_at_once() -> None:
    with pytest.raises(ObjectNotFoundError, match="container 'no-such-box' does not exist"):
        MDSWriter(out="azure://no-such-box/ds", columns=COLUMNS)
