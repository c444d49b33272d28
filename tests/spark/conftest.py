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
def spark_moto() -> Iterator[object]:
    """A moto S3 server for the Spark tests; the Spark JVM (and so every executor) is started
    with its endpoint and credentials in the environment."""
    from tests.storage.s3.server import start_moto

    server = start_moto()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def spark(spark_moto) -> Iterator[object]:  # noqa: ANN001
    from tests.storage.s3.server import aws_environment

    with aws_environment(spark_moto.endpoint):  # inherited by the JVM it launches
        session = spark_session()
    yield session
    session.stop()
