"""Spark conversion throughput: `dataframe_to_mds` on ``local[2]`` against our single-process
writer, on the same 1,000,000 rows (8 parquet files), in one run.

    .venv/bin/python benchmarks/spark_convert.py [--rows 1000000] [--out benchmarks/out/spark]

Rows: ``id`` (long), ``text`` (string, 100 characters), ``tokens`` (array<int>, 32 values),
``score`` (double). Both paths turn Arrow batches into samples with the same code
(`streaming.spark.partition.arrow_rows`) and write uncompressed MDS with xxh64 hashes; the
single process reads the parquet files with pyarrow, one after another. The Spark session is
started and warmed with a tiny job before the clock starts (it stands for the user's running
cluster); its start-up time is printed apart.
Prints a Markdown table and writes it to ``benchmarks/results/spark_convert.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streaming import MDSWriter  # noqa: E402
from streaming.spark.partition import arrow_rows  # noqa: E402

COLUMNS = {"id": "int64", "text": "str", "tokens": "ndarray:int32", "score": "float64"}
FILES = 8


def make_parquet(folder: Path, rows: int) -> None:
    """`rows` rows in `FILES` parquet files (deterministic)."""
    if folder.exists() and len(list(folder.glob("*.parquet"))) == FILES:
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    per = rows // FILES
    for f in range(FILES):
        ids = np.arange(f * per, (f + 1) * per, dtype=np.int64)
        letters = rng.integers(97, 123, size=(per, 100), dtype=np.uint8)
        text = pa.array([row.tobytes().decode() for row in letters], pa.string())
        tokens = rng.integers(0, 50_000, size=(per, 32), dtype=np.int32)
        table = pa.table(
            {
                "id": ids,
                "text": text,
                "tokens": pa.ListArray.from_arrays(
                    np.arange(0, per * 32 + 1, 32, dtype=np.int32), tokens.ravel()
                ),
                "score": rng.random(per),
            }
        )
        pq.write_table(table, folder / f"part-{f}.parquet", row_group_size=50_000)


def single_process(folder: Path, out: Path) -> tuple[float, int]:
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    n = 0
    with MDSWriter(out=str(out), columns=COLUMNS, hashes=["xxh64"], progress_bar=False) as w:
        for path in sorted(folder.glob("*.parquet")):
            for batch in pq.ParquetFile(path).iter_batches(batch_size=10_000):
                for row in arrow_rows(batch, COLUMNS):
                    w.write(row)
                    n += 1
    return time.perf_counter() - start, n


def _count_rows(batches):  # noqa: ANN001, ANN202 - runs on the executors
    n = sum(b.num_rows for b in batches)
    yield pa.RecordBatch.from_pylist([{"n": n}])


def on_spark(folder: Path, out: Path) -> tuple[float, int, float]:
    os.environ["PYSPARK_PYTHON"] = sys.executable
    t0 = time.perf_counter()
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.files.maxPartitionBytes", str(32 << 20))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    # A running cluster has its Python workers up: warm them with a tiny job first.
    spark.range(0, 1000, numPartitions=2).mapInArrow(_count_rows, "n long").collect()
    startup = time.perf_counter() - t0
    from streaming.spark import dataframe_to_mds

    shutil.rmtree(out, ignore_errors=True)
    df = spark.read.parquet(str(folder))
    start = time.perf_counter()
    summary = dataframe_to_mds(df, str(out), columns={"tokens": "ndarray:int32"}, hashes=["xxh64"])
    seconds = time.perf_counter() - start
    spark.stop()
    return seconds, summary.samples, startup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "spark"))
    args = parser.parse_args()
    out = Path(args.out)
    folder = out / "parquet"
    print(f"making {args.rows:,} rows of parquet in {folder}", file=sys.stderr)
    make_parquet(folder, args.rows)
    load = os.getloadavg()[0]
    print("single process...", file=sys.stderr)
    single_s, single_n = single_process(folder, out / "single")
    print("spark local[2]...", file=sys.stderr)
    spark_s, spark_n, startup = on_spark(folder, out / "spark-mds")
    assert single_n == spark_n == args.rows, (single_n, spark_n)
    table = "\n".join(
        [
            f"Spark conversion, {args.rows:,} rows, 2 cores (load average at start {load:.2f}); "
            f"`python benchmarks/spark_convert.py --rows {args.rows}`",
            "",
            "| path | seconds | rows/s | vs single process |",
            "|---|---|---|---|",
            f"| our writer, one process | {single_s:.1f} | {single_n / single_s:,.0f} | 1.00x |",
            f"| `dataframe_to_mds`, Spark local[2] | {spark_s:.1f} | {spark_n / spark_s:,.0f} | "
            f"{single_s / spark_s:.2f}x |",
            "",
            f"Spark session start-up (not counted above): {startup:.1f} s.",
        ]
    )
    print(table)
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / "spark_convert.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
