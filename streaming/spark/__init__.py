"""Conversion at scale on Apache Spark: `dataframe_to_mds` (needs the ``spark`` extra).

`dataframe_to_mds` takes our keyword form (``out=``, ``columns=``..., returning a
`ConversionSummary`) and mosaicml-streaming's (``merge_index``, ``mds_kwargs``,
``udf_iterable``, ``udf_kwargs``, returning ``(local, remote)``).
"""

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
