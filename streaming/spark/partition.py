"""What one Spark task does: check whether its partition is already written and intact, and if
not, write it as an MDS directory with our writer. Runs on the executors."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from streaming.format.errors import FormatError
from streaming.format.hashing import get_hash
from streaming.format.index import INDEX_BASENAME, parse_index
from streaming.storage.base import ObjectNotFoundError
from streaming.storage.download import download
from streaming.storage.registry import is_remote_url

__all__ = [
    "SparkConversionError",
    "part_name",
    "part_out",
    "part_is_intact",
    "arrow_rows",
    "write_part",
]


class SparkConversionError(RuntimeError):
    """Writing a partition failed; the message names the partition and the cause."""


def part_name(partition: int) -> str:
    """The sub-directory of partition `partition`: ``part-00007``."""
    return f"part-{partition:05d}"


def part_out(out: str | tuple[str, str], partition: int) -> str | tuple[str, str]:
    """The writer `out` of one partition under the job's `out`."""
    name = part_name(partition)
    if isinstance(out, (tuple, list)):
        return (os.path.join(out[0], name), out[1].rstrip("/") + "/" + name)
    if is_remote_url(out):
        return out.rstrip("/") + "/" + name
    return os.path.join(out, name)


def _where(out: str | tuple[str, str]) -> str:
    """Where a part's files are read back from: the remote if there is one."""
    return out[1] if isinstance(out, (tuple, list)) else out


def _files_of(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The files a writer leaves for one shard: the compressed one where there is one."""
    files = []
    for raw_key, zip_key in (("raw_data", "zip_data"), ("raw_meta", "zip_meta")):
        info = entry.get(zip_key) or entry.get(raw_key)
        if info:
            files.append(info)
    return files


def part_is_intact(out: str | tuple[str, str]) -> int | None:
    """The sample count of a partition written by an earlier run if it is complete (its
    ``index.json`` exists and every shard file it lists has the recorded size and hashes), else
    None."""
    root = _where(out)
    remote = is_remote_url(root)
    with tempfile.TemporaryDirectory(prefix="streaming-spark-check-") as tmp:

        def fetch(name: str) -> str | None:
            if not remote:
                path = os.path.join(root, name)
                return path if os.path.isfile(path) else None
            path = os.path.join(tmp, name.replace("/", "_"))
            try:
                download(root.rstrip("/") + "/" + name, path, attempts=3)
            except ObjectNotFoundError:
                return None
            return path

        index = fetch(INDEX_BASENAME)
        if index is None:
            return None
        try:
            with open(index, "rb") as f:
                shards = parse_index(f.read(), index)["shards"]
        except FormatError:
            return None
        for entry in shards:
            for info in _files_of(entry):
                path = fetch(info["basename"])
                if path is None or os.path.getsize(path) != info["bytes"]:
                    return None
                if info.get("hashes"):
                    with open(path, "rb") as f:
                        data = f.read()
                    if any(get_hash(a, data) != h for a, h in info["hashes"].items()):
                        return None
                if remote:
                    os.remove(path)
    return sum(entry["samples"] for entry in shards)


# ``jpeg`` and ``png`` columns store encoded bytes as they are; ``pil`` needs an image.
_IMAGE_ENCODINGS = ("pil",)


def _image(value: Any) -> Any:
    """Encoded image bytes as a PIL image, for the ``pil`` encoding."""
    if not isinstance(value, (bytes, bytearray)):
        return value
    from PIL import Image

    return Image.open(io.BytesIO(value))


def arrow_rows(batch: Any, columns: dict[str, str]) -> list[dict[str, Any]]:
    """The rows of a ``pyarrow.RecordBatch`` as sample dicts, converted column by column
    (``ndarray`` columns become numpy arrays of their dtype)."""
    values = []
    for name in batch.schema.names:
        column = batch.column(name)
        encoding = columns.get(name, "")
        if encoding.startswith("ndarray") and column.null_count == 0:
            offsets = column.offsets.to_numpy()
            flat = column.flatten().to_numpy(zero_copy_only=False)
            dtype = encoding.split(":")[1] if ":" in encoding else flat.dtype
            flat = flat.astype(dtype, copy=False)
            values.append([flat[a:b] for a, b in zip(offsets[:-1], offsets[1:], strict=True)])
        elif encoding in _IMAGE_ENCODINGS:
            values.append([_image(v) for v in column.to_pylist()])
        else:
            values.append(column.to_pylist())
    names = batch.schema.names
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]


def write_part(
    partition: int,
    rows: Iterable[dict[str, Any]],
    out: str | tuple[str, str],
    columns: dict[str, str],
    writer_kwargs: dict[str, Any],
    udf: Callable[[Iterator[dict[str, Any]]], Iterator[dict[str, Any]]] | None = None,
) -> int:
    """Write one partition's samples to its own directory; returns the sample count.

    A partial earlier attempt is replaced (its local directory is removed first). Errors name the
    partition.
    """
    from streaming.format.mds.writer import MDSWriter

    target = part_out(out, partition)
    local = target[0] if isinstance(target, tuple) else target
    if not is_remote_url(local):
        shutil.rmtree(local, ignore_errors=True)
    samples = udf(iter(rows)) if udf is not None else rows
    count = 0
    try:
        with MDSWriter(
            out=target, columns=columns, exist_ok=True, progress_bar=False, **writer_kwargs
        ) as writer:
            for sample in samples:
                writer.write(sample)
                count += 1
    except Exception as e:
        raise SparkConversionError(
            f"Spark partition {partition} ({part_name(partition)}): {type(e).__name__}: {e}"
        ) from e
    return count


def ensure_arrays(sample: dict[str, Any], columns: dict[str, str]) -> dict[str, Any]:
    """Turn list values of ``ndarray`` columns into arrays (for samples made by a UDF)."""
    for name, encoding in columns.items():
        value = sample.get(name)
        if encoding.startswith("ndarray") and isinstance(value, list):
            dtype = encoding.split(":")[1] if ":" in encoding else None
            with contextlib.suppress(ValueError, TypeError):
                sample[name] = np.asarray(value, dtype=dtype)
    return sample
