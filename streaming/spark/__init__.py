"""Conversion at scale on Apache Spark: `dataframe_to_mds` (needs the ``spark`` extra)."""

from streaming.spark.convert import ConversionSummary, dataframe_to_mds
from streaming.spark.partition import SparkConversionError
from streaming.spark.schema import SparkSchemaError, infer_columns

__all__ = [
    "ConversionSummary",
    "SparkConversionError",
    "SparkSchemaError",
    "dataframe_to_mds",
    "infer_columns",
]
