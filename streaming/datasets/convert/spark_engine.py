"""``streaming convert --engine spark``: a dataset's conversion on Apache Spark's executors.

The converter plans its parts as usual (one raw file each for C4's ``json.gz``, the Pile's
``jsonl.zst`` or LAION's parquet shards; runs of samples for image folders). Each part becomes
one Spark partition (``parallelize(range(parts), parts)`` puts part ``k`` in partition ``k``),
which `streaming.spark.dataframe_to_mds` writes with our writer on an executor as
``<out>/<split>/part-0000k``; the driver merges the indexes. A re-run skips the parts that are
complete and intact. The raw directory must be readable by every executor (local mode, or a
shared filesystem), and `out` may be a remote URL that executors upload to.
"""

from __future__ import annotations

import os
import time
from typing import Any

from streaming.datasets.convert.base import Converter, RawDataError
from streaming.storage.registry import is_remote_url

__all__ = ["convert_on_spark"]


def _split_out(out: str, split: str) -> str:
    return out.rstrip("/") + "/" + split if is_remote_url(out) else os.path.join(out, split)


def convert_on_spark(
    converter: Converter,
    raw: str,
    out: str,
    *,
    compression: str | None = None,
    hashes: list[str] | None = None,
    size_limit: int | str | None = None,
    splits: list[str] | None = None,
    spark: Any = None,
    master: str | None = None,
) -> list[tuple[str, Any]]:
    """Convert the raw dataset at `raw` to MDS at `out` on Spark; (split, summary) pairs.

    Args:
        converter: The dataset's converter.
        raw: The raw dataset's directory (readable by the executors).
        out: Output root; each split goes to ``<out>/<split>``.
        compression: Shard compression.
        hashes: Hash algorithms to record (they also make re-runs check finished parts).
        size_limit: Shard size limit; None takes the converter's default.
        splits: Splits to convert (None: all).
        spark: A ``SparkSession``; None: ``getOrCreate()`` (with `master` if given).
        master: Spark master for a new session, e.g. ``local[2]``.
    """
    from streaming.spark import dataframe_to_mds

    if not os.path.isdir(raw):
        raise RawDataError(f"Raw dataset directory {raw!r} does not exist")
    parts = converter.plan(raw, splits)
    if not parts:
        raise RawDataError(f"Found nothing to convert in {raw!r}; expected {converter.layout}")
    if spark is None:
        from pyspark.sql import SparkSession

        builder = SparkSession.builder.appName(f"streaming convert {converter.name}")
        spark = (builder.master(master) if master else builder).getOrCreate()
    by_split: dict[str, list[Any]] = {}
    for part in parts:
        by_split.setdefault(part.split, []).append(part)
    limit = converter.default_size_limit if size_limit is None else size_limit
    results = []
    for split, split_parts in by_split.items():
        split_parts = sorted(split_parts, key=lambda p: p.index)
        rdd = spark.sparkContext.parallelize([(i,) for i in range(len(split_parts))],
                                             len(split_parts))  # fmt: skip
        df = spark.createDataFrame(rdd, "part long")

        def samples(rows: Any, parts: list[Any] = split_parts) -> Any:
            for row in rows:
                for sample in converter.read_part(parts[row["part"]]):
                    if sample is not None:
                        yield sample

        start = time.perf_counter()
        summary = dataframe_to_mds(
            df, _split_out(out, split), columns=converter.columns, compression=compression,
            hashes=hashes, size_limit=limit, udf=samples,
        )  # fmt: skip
        results.append((split, summary))
        print(f"  {split}: {summary} ({time.perf_counter() - start:.1f} s)")
    return results
