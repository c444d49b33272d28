"""A Spark-converted dataset is a normal dataset: mosaicml-streaming 0.13.0 reads it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streaming.spark import dataframe_to_mds
from tests.peers.runner import run_peer

PEER_READ = """
import json, sys
from streaming import StreamingDataset
ds = StreamingDataset(local=sys.argv[1], batch_size=1)
rows = (ds[i] for i in range(ds.size))
print(json.dumps([[int(s["id"]), s["text"], s["vec"].tolist()] for s in rows]))
"""


@pytest.mark.peer
def test_the_peer_reads_a_spark_conversion(spark, tmp_path: Path, mosaic_python: Path) -> None:
    df = spark.range(0, 500, numPartitions=3).selectExpr(
        "id", "concat('row ', id) AS text", "array(CAST(id AS FLOAT), 0.5F) AS vec"
    )
    out = tmp_path / "out"
    dataframe_to_mds(df, str(out), compression="zstd", hashes=["sha1", "xxh64"], size_limit=4096)
    got = json.loads(run_peer(mosaic_python, PEER_READ, str(out)))
    assert sorted(got) == [[i, f"row {i}", [float(i), 0.5]] for i in range(500)]
