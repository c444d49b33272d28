"""Writers and merge_index with an S3 `out`: background uploads, failures, remote partitions."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from streaming import StreamingDataset, merge_index
from streaming.format.writer import WriterError
from tests.storage._e2e import make_samples, write_mds


def _keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for p in pages for o in p.get("Contents", ()))


def _deny_put(s3: Any, bucket: str, pattern: str) -> None:
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/{pattern}",
        }],
    }))


def test_failed_upload_names_the_shard_and_leaves_no_index(bucket: str, s3: Any) -> None:
    _deny_put(s3, bucket, "ds/shard.00002.*")
    with pytest.raises(WriterError) as info:
        write_mds(f"s3://{bucket}/ds", make_samples(300))
    message = str(info.value)
    assert f"s3://{bucket}/ds/shard.00002.mds.zstd" in message, message
    assert "AccessDenied" in message or "403" in message, message
    keys = _keys(s3, bucket)
    assert "ds/shard.00000.mds.zstd" in keys
    assert "ds/index.json" not in keys and "ds/shard.00002.mds.zstd" not in keys
    staging = re.search(r"Upload of (\S+)/shard\.00002\.mds\.zstd to", message)
    assert staging is not None and not Path(staging.group(1)).exists()  # temp copy cleaned up


def test_local_and_remote_pair_keeps_both(bucket: str, s3: Any, tmp_path: Path) -> None:
    samples = make_samples(120, seed=3)
    write_mds((str(tmp_path / "local"), f"s3://{bucket}/pair"), samples, keep_local=True)
    local = sorted(p.name for p in (tmp_path / "local").iterdir())
    assert local == [k.split("/")[-1] for k in _keys(s3, bucket, "pair/")]
    for name in local:
        remote = s3.get_object(Bucket=bucket, Key=f"pair/{name}")["Body"].read()
        assert remote == (tmp_path / "local" / name).read_bytes()


def test_writer_refuses_a_non_empty_remote(bucket: str, s3: Any) -> None:
    s3.put_object(Bucket=bucket, Key="ds/old", Body=b"")
    with pytest.raises(FileExistsError, match=f"s3://{bucket}/ds"):
        write_mds(f"s3://{bucket}/ds", make_samples(5))


def test_merge_index_over_s3_partitions(bucket: str, s3: Any, tmp_path: Path) -> None:
    samples = make_samples(240, seed=2)
    parts = [samples[0:90], samples[90:100], samples[100:240]]
    for n, part in enumerate(parts):
        write_mds(f"s3://{bucket}/parts/{n}", part)
    merge_index(f"s3://{bucket}/parts")
    index = json.loads(s3.get_object(Bucket=bucket, Key="parts/index.json")["Body"].read())
    names = [shard["zip_data"]["basename"] for shard in index["shards"]]
    assert names == sorted(names) and {n.split("/")[0] for n in names} == {"0", "1", "2"}
    assert sum(shard["samples"] for shard in index["shards"]) == len(samples)
    ds = StreamingDataset(remote=f"s3://{bucket}/parts", local=str(tmp_path / "c"), batch_size=4)
    assert [(int(s["id"]), s["data"]) for s in ds] == [(s["id"], s["data"]) for s in samples]

    # The list form, with explicit part index URLs, gives the same index.
    s3.delete_object(Bucket=bucket, Key="parts/index.json")
    merge_index([f"s3://{bucket}/parts/{n}/index.json" for n in range(3)], f"s3://{bucket}/parts")
    again = json.loads(s3.get_object(Bucket=bucket, Key="parts/index.json")["Body"].read())
    assert again == index
