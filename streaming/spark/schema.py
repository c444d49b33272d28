"""MDS column encodings inferred from a Spark schema, with per-column overrides.

| Spark type | MDS encoding |
|---|---|
| ByteType, ShortType, IntegerType, LongType | int8, int16, int32, int64 |
| FloatType, DoubleType | float32, float64 |
| DecimalType | str_decimal |
| StringType | str |
| BinaryType | bytes |
| ArrayType of a number type | ndarray:<dtype> |

Booleans, dates, timestamps, maps, structs and arrays of other types are refused with an error
that names the column and says what to do (cast it, or give its encoding in `columns`).
Spark is imported only when a schema is inspected.
"""

from __future__ import annotations

from typing import Any

from streaming.format.mds.encodings import is_mds_encoding

__all__ = ["infer_columns", "SparkSchemaError"]


class SparkSchemaError(ValueError):
    """A column whose Spark type has no MDS encoding, or a bad override."""


def _scalar_encodings() -> dict[type, str]:
    from pyspark.sql import types as t

    return {
        t.ByteType: "int8",
        t.ShortType: "int16",
        t.IntegerType: "int32",
        t.LongType: "int64",
        t.FloatType: "float32",
        t.DoubleType: "float64",
        t.DecimalType: "str_decimal",
        t.StringType: "str",
        t.BinaryType: "bytes",
    }


_ARRAY_DTYPES = {
    "ByteType": "int8",
    "ShortType": "int16",
    "IntegerType": "int32",
    "LongType": "int64",
    "FloatType": "float32",
    "DoubleType": "float64",
}

_HINTS = {
    "BooleanType": "cast it to a number (`df.withColumn(c, F.col(c).cast('byte'))`)",
    "DateType": "cast it to a string or to days since the epoch",
    "TimestampType": "cast it to a string or to a long (epoch seconds or micros)",
    "TimestampNTZType": "cast it to a string or to a long (epoch seconds or micros)",
}


def _encoding_of(name: str, data_type: Any) -> str:
    from pyspark.sql import types as t

    for spark_type, encoding in _scalar_encodings().items():
        if isinstance(data_type, spark_type):
            return encoding
    if isinstance(data_type, t.ArrayType):
        element = type(data_type.elementType).__name__
        if element in _ARRAY_DTYPES:
            return f"ndarray:{_ARRAY_DTYPES[element]}"
    kind = type(data_type).__name__
    hint = _HINTS.get(kind, "cast it to a supported type")
    raise SparkSchemaError(
        f"Column {name!r} has Spark type {data_type.simpleString()}, which has no MDS encoding: "
        f"{hint}, or give its encoding in `columns` (e.g. columns={{{name!r}: 'json'}})"
    )


def infer_columns(schema: Any, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The MDS ``columns`` for a Spark `schema`, with `overrides` taking precedence.

    Args:
        schema: A ``pyspark.sql.types.StructType`` (``df.schema``).
        overrides: Encodings for some columns, e.g. ``{"image": "jpeg"}``.

    Raises:
        SparkSchemaError: an override names a column the schema lacks, or an unknown encoding;
            or a column without an override has no MDS encoding.
    """
    overrides = dict(overrides or {})
    names = [field.name for field in schema.fields]
    for name, encoding in overrides.items():
        if name not in names:
            raise SparkSchemaError(
                f"`columns` gives an encoding for {name!r}, which is not a column of the "
                f"DataFrame (its columns: {names})"
            )
        if not is_mds_encoding(encoding):
            raise SparkSchemaError(f"Column {name!r}: unknown MDS encoding {encoding!r}")
    return {
        field.name: overrides.get(field.name) or _encoding_of(field.name, field.dataType)
        for field in schema.fields
    }
