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
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from streaming.format.mds.encodings import is_mds_encoding
from streaming.format.merge import merge_index
from streaming.spark.partition import (
    arrow_rows,
    ensure_arrays,
    part_is_intact,
    part_out,
    write_part,
)
from streaming.spark.schema import SparkSchemaError, infer_columns
from streaming.storage.registry import is_remote_url

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
    dataframe: Any,
    merge_index: Any = True,
    mds_kwargs: dict[str, Any] | None = None,
    udf_iterable: Callable[..., Iterable[dict[str, Any]]] | None = None,
    udf_kwargs: dict[str, Any] | None = None,
    *,
    out: str | tuple[str, str] | None = None,
    columns: dict[str, str] | None = None,
    compression: str | None = None,
    hashes: list[str] | None = None,
    size_limit: int | str | None = 1 << 26,
    udf: Callable[[Iterator[dict[str, Any]]], Iterator[dict[str, Any]]] | None = None,
    keep_local: bool = False,
) -> Any:
    """Convert a Spark DataFrame to an MDS dataset, one directory per Spark partition.

    Two call forms:

    * **mosaicml-streaming's**: ``dataframe_to_mds(df, merge_index=True, mds_kwargs={"out": ...,
      "columns": ...}, udf_iterable=None, udf_kwargs=None)``. `mds_kwargs` holds `MDSWriter`'s
      arguments (``out`` required; ``columns`` inferred from the schema if absent; compression
      ``zstd`` unless given); `udf_iterable(pandas_df, **udf_kwargs)` turns each Arrow batch of
      a partition, as a pandas DataFrame, into samples (``columns`` is then required). Returns
      ``(local, remote)``, the directories used, ``remote`` ``''`` for a local `out` (a remote
      URL is staged in a temporary local directory, removed at the end unless ``keep_local``).
      With ``merge_index=False`` no top-level ``index.json`` is written.
    * **ours** (keywords, or `out` as the second positional argument): ``dataframe_to_mds(df,
      out, columns=None, compression=None, hashes=None, size_limit=1 << 26, udf=None,
      keep_local=False)``, returning a `ConversionSummary`. Here `udf` maps the partition's
      rows (dicts) to samples, and `columns` without `udf` overrides some inferred encodings.

    In both, partition ``N`` goes to ``<out>/part-0000N/``, written on the executors; a re-run
    skips partitions already complete (see the module docstring).

    Raises:
        SparkSchemaError (a `ValueError`): a column type has no MDS encoding, or `columns` is
            wrong; in the peer's form also an empty DataFrame or a missing ``out``.
        pyspark's error wrapping `SparkConversionError`: a partition failed to write.
    """
    if isinstance(merge_index, (str, tuple, list, os.PathLike)):
        if out is not None:
            raise TypeError("dataframe_to_mds: `out` given both positionally and by keyword")
        out, merge_index = merge_index, True  # ours, with `out` positional
    if out is not None:
        if mds_kwargs is not None or udf_iterable is not None or udf_kwargs is not None:
            raise TypeError(
                "dataframe_to_mds: give either `out=` (and our keywords) or mosaicml-streaming's "
                "`mds_kwargs={'out': ...}` (with `udf_iterable`, `udf_kwargs`), not both"
            )
        return _convert(
            dataframe,
            out,
            columns,
            {"compression": compression, "hashes": hashes, "size_limit": size_limit,
             "keep_local": keep_local},
            udf=udf,
            merge=bool(merge_index),
        )  # fmt: skip
    return _peer_form(dataframe, bool(merge_index), mds_kwargs, udf_iterable, udf_kwargs)


# MDSWriter arguments the peer's form passes on (the others only tune its progress display).
_WRITER_KEYS = {"compression", "hashes", "size_limit", "keep_local"}
_IGNORED_KEYS = {"out", "columns", "progress_bar", "max_workers", "exist_ok", "retry"}


def _peer_form(
    dataframe: Any,
    merge: bool,
    mds_kwargs: dict[str, Any] | None,
    udf_iterable: Callable[..., Iterable[dict[str, Any]]] | None,
    udf_kwargs: dict[str, Any] | None,
) -> tuple[str, str]:
    kwargs = dict(mds_kwargs or {})
    if "out" not in kwargs:
        raise SparkSchemaError(
            "dataframe_to_mds: `out` and `columns` need to be specified in `mds_kwargs`"
        )
    unknown = sorted(set(kwargs) - _WRITER_KEYS - _IGNORED_KEYS)
    if unknown:
        raise SparkSchemaError(
            f"dataframe_to_mds: unknown MDSWriter argument(s) in mds_kwargs: {unknown}"
        )
    if dataframe is None or dataframe.isEmpty():
        raise SparkSchemaError("dataframe_to_mds: the input DataFrame is None or empty")
    if udf_iterable is not None and not kwargs.get("columns"):
        raise SparkSchemaError(
            "dataframe_to_mds: with `udf_iterable`, mds_kwargs must give `columns`, the "
            "encoding of every column of the samples it yields"
        )
    writer_kwargs = {key: kwargs[key] for key in _WRITER_KEYS if key in kwargs}
    writer_kwargs.setdefault("compression", "zstd")  # the peer's default here
    keep_local = bool(writer_kwargs.get("keep_local", False))
    out = kwargs["out"]
    if isinstance(out, (str, os.PathLike)) and is_remote_url(os.fspath(out)):
        local, remote = tempfile.mkdtemp(prefix="streaming-spark-"), os.fspath(out)
        out = (local, remote)
    elif isinstance(out, (tuple, list)):
        local, remote = os.fspath(out[0]), os.fspath(out[1])
        out = (local, remote)
    else:
        local, remote = os.fspath(out), ""
        out = local
    _convert(
        dataframe,
        out,
        kwargs.get("columns"),
        writer_kwargs,
        batch_udf=None if udf_iterable is None else (udf_iterable, dict(udf_kwargs or {})),
        merge=merge,
        exact_columns=udf_iterable is not None or kwargs.get("columns") is not None,
    )
    if remote and not keep_local:
        shutil.rmtree(local, ignore_errors=True)
    return local, remote


def _convert(
    df: Any,
    out: str | tuple[str, str],
    columns: dict[str, str] | None,
    writer_kwargs: dict[str, Any],
    udf: Callable[[Iterator[dict[str, Any]]], Iterator[dict[str, Any]]] | None = None,
    batch_udf: tuple[Callable[..., Iterable[dict[str, Any]]], dict[str, Any]] | None = None,
    merge: bool = True,
    exact_columns: bool = False,
) -> ConversionSummary:
    """The conversion: `udf` maps a partition's rows, `batch_udf` ``(fn, kwargs)`` maps each
    Arrow batch as a pandas DataFrame; `exact_columns`: `columns` names every column."""
    start = time.perf_counter()
    if udf is not None or batch_udf is not None:
        if not columns:
            raise SparkSchemaError(
                "dataframe_to_mds: with a `udf`, `columns` must give the encoding of every "
                "column of the samples it yields"
            )
        encodings = dict(columns)
    elif exact_columns:
        encodings = _given_columns(df, columns or {})
        df = df.select(*encodings)  # as the peer's writer, other DataFrame columns are dropped
    else:
        encodings = infer_columns(df.schema, columns)
    if isinstance(out, (str, os.PathLike)):
        out = os.fspath(out)
    custom = _custom_encodings(encodings)

    def task(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa
        from pyspark import TaskContext

        from streaming.format.mds.encodings import _encodings

        for name, cls in custom.items():  # registered on the driver: register here too
            if _encodings.get(name) is not cls:
                _encodings[name] = cls
        partition = TaskContext.get().partitionId()
        target = part_out(out, partition)
        intact = part_is_intact(target)
        if intact is not None:
            skipped, count = True, intact
        else:
            wrap = None
            if batch_udf is not None:
                fn, fn_kwargs = batch_udf
                rows: Iterable[dict[str, Any]] = (
                    ensure_arrays(dict(s), encodings)
                    for batch in batches
                    for s in fn(batch.to_pandas(), **fn_kwargs)
                )
            else:
                rows = (row for batch in batches for row in arrow_rows(batch, encodings))
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
    if merge:
        parts = [part_out(out, r.partition) for r in results]
        merge_index([_index_of(p) for p in parts], out, keep_local=True)
    summary = ConversionSummary(
        partitions=len(results),
        written=sum(not r.skipped for r in results),
        skipped=sum(r.skipped for r in results),
        samples=sum(r.samples for r in results),
        seconds=time.perf_counter() - start,
        columns=encodings,
    )
    logger.info("dataframe_to_mds: %s", summary)
    return summary


def _custom_encodings(encodings: dict[str, str]) -> dict[str, type]:
    """The user-registered encoding classes the columns use, to register on the executors
    (which run in other processes than the driver, where the user registered them)."""
    from streaming.format.mds.encodings import _encodings
    from streaming.format.mds.encodings.registry import BuiltinEncoding

    found = {}
    for encoding in encodings.values():
        name = encoding.partition(":")[0]
        cls = _encodings.get(name)
        if cls is not None and not (isinstance(cls, type) and issubclass(cls, BuiltinEncoding)):
            found[name] = cls
    return found


def _given_columns(df: Any, columns: dict[str, str]) -> dict[str, str]:
    """`columns` checked against the DataFrame: each a column of it, with a known encoding."""
    for name, encoding in columns.items():
        if name not in df.columns:
            raise SparkSchemaError(
                f"mds_kwargs['columns'] names {name!r}, which is not a column of the DataFrame "
                f"(its columns: {df.columns})"
            )
        if not is_mds_encoding(encoding):
            raise SparkSchemaError(f"Column {name!r}: unknown MDS encoding {encoding!r}")
    return dict(columns)


def _index_of(part: str | tuple[str, str]) -> str | tuple[str, str]:
    if isinstance(part, tuple):
        return (os.path.join(part[0], "index.json"), part[1] + "/index.json")
    if is_remote_url(part):
        return part.rstrip("/") + "/index.json"
    return os.path.join(part, "index.json")
