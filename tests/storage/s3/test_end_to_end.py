"""Write datasets to moto S3 with our writers, stream them back with StreamingDataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streaming.format.index import INDEX_BASENAME
from tests.storage._e2e import (
    JSON_COLUMNS,
    MDS_COLUMNS,
    check_streaming,
    make_samples,
    write_json,
    write_mds,
)


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"][len(prefix):] for p in pages for o in p.get("Contents", ()))


def test_mds_zstd_round_trip(bucket: str, s3: Any, tmp_path: Path) -> None:
    samples = make_samples(300)
    write_mds(f"s3://{bucket}/ds", samples)
    keys = _keys(s3, bucket, "ds/")
    shards = [k for k in keys if k != INDEX_BASENAME]
    assert INDEX_BASENAME in keys and len(shards) >= 4
    assert all(k.startswith("shard.") and k.endswith(".mds.zstd") for k in shards)
    check_streaming(f"s3://{bucket}/ds", tmp_path / "cache", samples, MDS_COLUMNS)


def test_json_round_trip(bucket: str, s3: Any, tmp_path: Path) -> None:
    samples = make_samples(250, seed=1)
    write_json(f"s3://{bucket}/json", samples)
    keys = _keys(s3, bucket, "json/")
    assert INDEX_BASENAME in keys and sum(k.endswith(".json.meta") for k in keys) >= 3
    check_streaming(f"s3://{bucket}/json/", tmp_path / "cache", samples, JSON_COLUMNS)
