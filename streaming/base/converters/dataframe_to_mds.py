"""``streaming.base.converters.dataframe_to_mds``: a Spark DataFrame to MDS (see
`streaming.spark.convert`), with the peer's schema helpers.

`dataframe_to_mds` takes the peer's call form, ``dataframe_to_mds(df, merge_index=True,
mds_kwargs={"out": ..., "columns": ...}, udf_iterable=None, udf_kwargs=None)``, and returns
``(local, remote)`` as the peer does. Importing this module needs pyspark (the ``spark`` extra).
"""

from __future__ import annotations

from typing import Any

from streaming.base.util import get_import_exception_message
from streaming.spark.convert import dataframe_to_mds
from streaming.spark.schema import SparkSchemaError, infer_columns

try:
    from pyspark.sql import types as _t
except ImportError as e:  # the peer's message: which extra to install
    raise ImportError(get_import_exception_message("pyspark", "spark"), name=e.name) from e

from streaming.format.mds.encodings import is_mds_encoding

__all__ = ["dataframe_to_mds", "SPARK_TO_MDS", "infer_dataframe_schema", "is_json_compatible"]

#: Spark type -> MDS encoding that `infer_dataframe_schema` picks (None: no encoding; cast the
#: column first). Unlike the peer (``uint8``/``uint16``), byte and short columns are ``int8``
#: and ``int16``, so their negative values survive.
SPARK_TO_MDS: dict[Any, str | None] = {
    _t.ByteType(): "int8",
    _t.ShortType(): "int16",
    _t.IntegerType(): "int32",
    _t.LongType(): "int64",
    _t.FloatType(): "float32",
    _t.DoubleType(): "float64",
    _t.DecimalType(): "str_decimal",
    _t.StringType(): "str",
    _t.BinaryType(): "bytes",
    _t.BooleanType(): None,
    _t.TimestampType(): None,
    _t.TimestampNTZType(): None,
    _t.DateType(): None,
    _t.DayTimeIntervalType(): None,
    _t.ArrayType(_t.IntegerType()): "ndarray:int32",
    _t.ArrayType(_t.ShortType()): "ndarray:int16",
    _t.ArrayType(_t.LongType()): "ndarray:int64",
    _t.ArrayType(_t.FloatType()): "ndarray:float32",
    _t.ArrayType(_t.DoubleType()): "ndarray:float64",
}

_JSON_LEAVES = (_t.StringType, _t.IntegerType, _t.FloatType, _t.BooleanType, _t.NullType)


def is_json_compatible(data_type: Any) -> bool:
    """Whether values of Spark type `data_type` can be written with the ``json`` encoding:
    strings, ints, floats, booleans and nulls, in structs, arrays and maps of them."""
    if isinstance(data_type, _t.StructType):
        return all(is_json_compatible(f.dataType) for f in data_type.fields)
    if isinstance(data_type, _t.ArrayType):
        return is_json_compatible(data_type.elementType)
    if isinstance(data_type, _t.MapType):
        return is_json_compatible(data_type.keyType) and is_json_compatible(data_type.valueType)
    return isinstance(data_type, _JSON_LEAVES)


def infer_dataframe_schema(
    dataframe: Any, user_defined_cols: dict[str, Any] | None = None
) -> dict[str, str] | None:
    """The MDS ``columns`` for `dataframe`'s schema; or, given `user_defined_cols`, check them
    and return None (the peer's contract).

    Raises:
        SparkSchemaError (a `ValueError`, as the peer raised): a column type has no encoding;
            or a user column is not in the DataFrame, has an unknown encoding, or a ``json``
            encoding on a type JSON cannot hold.
    """
    if user_defined_cols is None:
        return infer_columns(dataframe.schema)
    for name, encoding in user_defined_cols.items():
        if name not in dataframe.columns:
            raise SparkSchemaError(
                f"{name} is not a column of input dataframe: {dataframe.columns}"
            )
        if not isinstance(encoding, str) or not is_mds_encoding(encoding):
            raise SparkSchemaError(
                f"Column {name!r}: {encoding!r} is not supported by dataframe_to_mds"
            )
        if encoding == "json" and not is_json_compatible(dataframe.schema[name].dataType):
            raise SparkSchemaError(f"{name} can not be encoded by MDS JSON.")
    return None
