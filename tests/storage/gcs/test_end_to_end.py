"""Write datasets to fake-gcs-server with our writers, stream them back with StreamingDataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streaming import merge_index
from streaming.format.index import INDEX_BASENAME
from tests.storage._e2e import (
    JSON_COLUMNS,
    MDS_COLUMNS,
    check_streaming,
    make_samples,
    write_json,
    write_mds,
)


def _names(gcs: Any, bucket: str, prefix: str) -> list[str]:
    return sorted(b.name[len(prefix):] for b in gcs.list_blobs(bucket, prefix=prefix))


def test_mds_zstd_round_trip(bucket: str, gcs: Any, tmp_path: Path) -> None:
    samples = make_samples(300)
    write_mds(f"gs://{bucket}/ds", samples)
    names = _names(gcs, bucket, "ds/")
    assert INDEX_BASENAME in names and sum(n.endswith(".mds.zstd") for n in names) >= 4
    check_streaming(f"gs://{bucket}/ds", tmp_path / "cache", samples, MDS_COLUMNS)


def test_json_round_trip(bucket: str, gcs: Any, tmp_path: Path) -> None:
    samples = make_samples(250, seed=1)
    write_json(f"gs://{bucket}/json", samples)
    assert sum(n.endswith(".json.meta") for n in _names(gcs, bucket, "json/")) >= 3
    check_streaming(f"gs://{bucket}/json", tmp_path / "cache", samples, JSON_COLUMNS)


def test_merge_index_over_gcs_partitions(bucket: str, gcs: Any, tmp_path: Path) -> None:
    samples = make_samples(150, seed=4)
    for n, part in enumerate([samples[:70], samples[70:]]):
        write_mds(f"gs://{bucket}/parts/{n}", part)
    merge_index(f"gs://{bucket}/parts")
    assert INDEX_BASENAME in _names(gcs, bucket, "parts/")
    check_streaming(f"gs://{bucket}/parts", tmp_path / "cache", samples, MDS_COLUMNS)
