"""One local Spark session (``local[2]``, Java 17) for the Spark tests."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest


def spark_session(app: str = "streaming-tests"):  # noqa: ANN201 - pyspark is imported lazily
    """A ``local[2]`` session whose Python workers run this interpreter."""
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName(app)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "1000")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    session = spark_session()
    yield session
    session.stop()
