"""`dataframe_to_mds`: a Spark DataFrame to one MDS dataset, partition by partition, on Spark's
own executors, resumable, with one merged ``index.json``.

Each Spark partition ``N`` becomes the MDS directory ``<out>/part-0000N/``, written by the task
that owns the partition with our `MDSWriter` (a remote `out` is uploaded straight from the
executors). The driver then merges the partitions' indexes into ``<out>/index.json``, which is
written only once every partition has succeeded, so it never names a partial partition.

**Resuming.** Re-run the same call after a failure: a task whose partition directory already
holds a complete ``index.json`` whose shard files all match their recorded sizes and hashes
skips it; every other partition is written again from scratch. This relies on the DataFrame
producing the same partitions again, which holds for deterministic sources (files, tables)
without a shuffle of random order.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from streaming.format.merge import merge_index
from streaming.spark.partition import (
    arrow_rows,
    ensure_arrays,
    part_is_intact,
    part_out,
    write_part,
)
from streaming.spark.schema import SparkSchemaError, infer_columns

__all__ = ["dataframe_to_mds", "ConversionSummary"]

logger = logging.getLogger(__name__)

_RESULT_SCHEMA = "partition long, samples long, skipped boolean"


@dataclass(frozen=True)
class ConversionSummary:
    """What `dataframe_to_mds` did."""

    partitions: int
    written: int
    skipped: int
    samples: int
    seconds: float
    columns: dict[str, str]

    def __str__(self) -> str:
        return (
            f"{self.samples:,} samples in {self.partitions} partitions ({self.written} written, "
            f"{self.skipped} already complete) in {self.seconds:.1f} s"
        )


def dataframe_to_mds(
    df: Any,
    out: str | tuple[str, str],
    columns: dict[str, str] | None = None,
    compression: str | None = None,
    hashes: list[str] | None = None,
    size_limit: int | str | None = 1 << 26,
    udf: Callable[[Iterator[dict[str, Any]]], Iterator[dict[str, Any]]] | None = None,
    keep_local: bool = False,
) -> ConversionSummary:
    """Convert `df` to an MDS dataset at `out`, one directory per Spark partition.

    Args:
        df: A ``pyspark.sql.DataFrame``.
        out: A local directory (shared by driver and executors: local mode, or a shared
            filesystem), a remote URL (``s3://...``), or a ``(local, remote)`` pair.
        columns: MDS encodings. Without `udf`: overrides for some columns (e.g.
            ``{"image": "jpeg"}``), the rest inferred from the schema. With `udf`: the encodings
            of every column of the samples the UDF yields (required).
        compression: As `MDSWriter`'s (``"zstd"``, ``"zstd:7"``...).
        hashes: As `MDSWriter`'s; they also make resumption check each shard's contents.
        size_limit: As `MDSWriter`'s.
        udf: Turns each partition's rows (dicts) into samples (dicts); runs on the executors.
        keep_local: With a remote `out`, keep the executors' local copies.

    Returns:
        A `ConversionSummary`.

    Raises:
        SparkSchemaError: a column type has no MDS encoding, or `columns` is wrong.
        pyspark's error wrapping `SparkConversionError`: a partition failed to write.
    """
    start = time.perf_counter()
    if udf is not None:
        if not columns:
            raise SparkSchemaError(
                "dataframe_to_mds: with a `udf`, `columns` must give the encoding of every "
                "column of the samples it yields"
            )
        encodings = dict(columns)
    else:
        encodings = infer_columns(df.schema, columns)
    if isinstance(out, (str, os.PathLike)):
        out = os.fspath(out)
    writer_kwargs: dict[str, Any] = {
        "compression": compression,
        "hashes": hashes,
        "size_limit": size_limit,
        "keep_local": keep_local,
    }

    def task(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa
        from pyspark import TaskContext

        partition = TaskContext.get().partitionId()
        target = part_out(out, partition)
        intact = part_is_intact(target)
        if intact is not None:
            skipped, count = True, intact
        else:
            rows = (row for batch in batches for row in arrow_rows(batch, encodings))
            wrap = None
            if udf is not None:

                def wrap(it: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
                    return (ensure_arrays(s, encodings) for s in udf(it))

            skipped, count = False, write_part(partition, rows, out, encodings, writer_kwargs, wrap)
        yield pa.RecordBatch.from_pylist(
            [{"partition": partition, "samples": count, "skipped": skipped}],
            schema=pa.schema(
                [("partition", pa.int64()), ("samples", pa.int64()), ("skipped", pa.bool_())]
            ),
        )

    results = sorted(df.mapInArrow(task, _RESULT_SCHEMA).collect(), key=lambda r: r.partition)
    parts = [part_out(out, r.partition) for r in results]
    index_urls = [_index_of(p) for p in parts]
    merge_index(index_urls, out, keep_local=True)
    samples = sum(r.samples for r in results)
    summary = ConversionSummary(
        partitions=len(results),
        written=sum(not r.skipped for r in results),
        skipped=sum(r.skipped for r in results),
        samples=samples,
        seconds=time.perf_counter() - start,
        columns=encodings,
    )
    logger.info("dataframe_to_mds: %s", summary)
    return summary


def _index_of(part: str | tuple[str, str]) -> str | tuple[str, str]:
    if isinstance(part, tuple):
        return (os.path.join(part[0], "index.json"), part[1] + "/index.json")
    return part.rstrip("/") + "/index.json" if "://" in part else os.path.join(part, "index.json")
