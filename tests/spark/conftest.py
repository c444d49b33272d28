"""One local Spark session (``local[2]``, Java 17) for the Spark tests."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest


def spark_session(app: str = "streaming-tests", env: dict[str, str] | None = None):  # noqa: ANN201
    """A ``local[2]`` session whose Python workers run this interpreter, with `env` set in
    them. The JVM is started once per test process and keeps the environment it started with,
    so a later session (another module's moto server, on another port) must pass its
    endpoint as executor environment, not through ``os.environ``."""
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master("local[2]")
        .appName(app)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "1000")
    )
    for name, value in (env or {}).items():
        builder = builder.config(f"spark.executorEnv.{name}", value)
    spark = builder.getOrCreate()
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
    from tests.storage.s3.server import AWS_ENV, aws_environment

    env = {**AWS_ENV, "AWS_ENDPOINT_URL": spark_moto.endpoint}
    with aws_environment(spark_moto.endpoint):  # the JVM, if this session launches it
        session = spark_session(env=env)  # the executors, whichever JVM runs them
    yield session
    session.stop()
