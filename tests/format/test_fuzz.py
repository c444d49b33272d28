"""The readers on random and mutated bytes: only our own `FormatError` may come out.

Every example runs under a guard: an alarm fails it if it takes more than a few seconds (a
hang), and tracemalloc fails it if it allocates more than 64 MiB (a size read from corrupt
bytes and believed). Hypothesis is derandomized, so CI sees the same examples on every run.
"""

from __future__ import annotations

import contextlib
import decimal
import json
import os
import shutil
import signal
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streaming.format import CSVWriter, JSONWriter, MDSWriter, XSVWriter
from streaming.format.compression import compress, decompress
from streaming.format.errors import DecompressionError, EncodingError, FormatError, IndexFormatError
from streaming.format.index import parse_index
from streaming.format.mds.encodings import get_coder, get_mds_encodings
from streaming.local import LocalDataset

MAX_SECONDS = 5  # per example; the slowest honest one takes milliseconds
MAX_BYTES = 64 << 20  # per example, traced by tracemalloc

FUZZ = settings(
    derandomize=True,
    deadline=None,
    database=None,
    max_examples=120,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Hang(Exception):
    """An example ran past `MAX_SECONDS`."""


@contextlib.contextmanager
def guard() -> Iterator[None]:
    """Fail on a hang (SIGALRM) or a huge allocation (tracemalloc peak) in the block."""

    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"an example ran for more than {MAX_SECONDS} s")

    tracing = tracemalloc.is_tracing()  # traced only here: hypothesis itself is slow traced
    if tracing:
        tracemalloc.reset_peak()
    else:
        tracemalloc.start()
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, MAX_SECONDS)
    start = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        _, peak = tracemalloc.get_traced_memory()
        if not tracing:
            tracemalloc.stop()
    assert peak < MAX_BYTES, f"an example allocated {peak} bytes"
    assert time.monotonic() - start < MAX_SECONDS


# -- the datasets that get mutated -------------------------------------------------------------

MDS_COLUMNS = {
    "arr": "ndarray",
    "mat": "ndarray:int16",
    "fix": "ndarray:uint8:2,3",
    "text": "str",
    "id": "int",
    "meta": "json",
    "f": "float32",
    "big": "str_int",
    "dec": "str_decimal",
    "raw": "bytes",
}


def _mds_sample(i: int) -> dict[str, Any]:
    return {
        "arr": np.arange(i + 1, dtype=np.float32),
        "mat": np.full((2, i + 1), i, np.int16),
        "fix": np.full((2, 3), i, np.uint8),
        "text": "t" * i,
        "id": i,
        "meta": {"i": [i, str(i)]},
        "f": float(i),
        "big": 10**i,
        "dec": decimal.Decimal(i) / 3,
        "raw": bytes([i]) * i,
    }


def _write(root: Path, name: str) -> Path:
    out = str(root / name)
    common = {"out": out, "hashes": ["sha1", "xxh64"]}
    rows = [{"a": "s" * i, "n": i, "x": i / 2} for i in range(8)]
    if name.startswith("mds"):
        compression = {"mds": None, "mds_zstd": "zstd", "mds_gz": "gz"}[name]
        with MDSWriter(
            columns=MDS_COLUMNS, compression=compression, size_limit=700, **common
        ) as out_:
            for i in range(8):
                out_.write(_mds_sample(i))
    elif name == "json":
        with JSONWriter(
            columns={"a": "str", "n": "int", "x": "float"}, size_limit=90, **common
        ) as w:
            for row in rows:
                w.write(row)
    elif name == "csv":
        with CSVWriter(
            columns={"a": "str", "n": "int", "x": "float"}, size_limit=50, **common
        ) as w:
            for row in rows:
                w.write(row)
    elif name == "xsv_zstd":
        columns = {"a": "str", "n": "int"}
        with XSVWriter(
            columns=columns,
            separator="|",
            newline="\r\n",
            compression="zstd",
            size_limit=40,
            **common,
        ) as w:
            for row in rows:
                w.write({"a": row["a"], "n": row["n"]})
    return Path(out)


DATASETS = ["mds", "mds_zstd", "mds_gz", "json", "csv", "xsv_zstd"]


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fuzz")
    out = {name: _write(root, name) for name in DATASETS}
    for path in out.values():  # each reads back whole before any mutation
        assert len(list(LocalDataset(str(path)))) == 8
    return out


@contextlib.contextmanager
def _copy(path: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "ds"
        shutil.copytree(path, work)
        yield work


def _read_everything(path: Path, validate_hash: str | None) -> None:
    for _ in LocalDataset(str(path), validate_hash=validate_hash):
        pass


# -- mutations ---------------------------------------------------------------------------------

_INTERESTING_U32 = [0, 1, 2, 3, 0x7F, 0xFF, 0x100, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]


@st.composite
def mutations(draw: st.DrawFn) -> list[tuple]:
    """A few byte edits, each as a tuple; positions are taken modulo the file's length."""
    position = st.integers(0, 1 << 16)
    edit = st.one_of(
        st.tuples(st.just("flip"), position, st.integers(0, 7)),
        st.tuples(st.just("truncate"), position),
        st.tuples(st.just("extend"), st.binary(min_size=1, max_size=32)),
        st.tuples(st.just("set"), position, st.integers(0, 255)),
        # A header or offset word (MDS header, meta offsets), to a boundary value or any.
        st.tuples(
            st.just("u32"),
            st.integers(0, 24),
            st.one_of(st.sampled_from(_INTERESTING_U32), st.integers(0, 2**32 - 1)),
        ),
        st.tuples(st.just("splice"), position, st.binary(min_size=1, max_size=16)),
    )
    return draw(st.lists(edit, min_size=1, max_size=3))


def _mutate(data: bytes, edits: list[tuple]) -> bytes:
    buf = bytearray(data)
    for edit in edits:
        kind = edit[0]
        if kind == "flip" and buf:
            buf[edit[1] % len(buf)] ^= 1 << edit[2]
        elif kind == "truncate":
            del buf[edit[1] % (len(buf) + 1) :]
        elif kind == "extend":
            buf += edit[1]
        elif kind == "set" and buf:
            buf[edit[1] % len(buf)] = edit[2]
        elif kind == "u32" and len(buf) >= 4 * edit[1] + 4:
            buf[4 * edit[1] : 4 * edit[1] + 4] = edit[2].to_bytes(4, "little")
        elif kind == "splice" and buf:
            pos = edit[1] % len(buf)
            buf[pos : pos + len(edit[2])] = edit[2]
    return bytes(buf)


def _data_files(path: Path) -> list[str]:
    return sorted(name for name in os.listdir(path) if name != "index.json")


# -- (a) random index.json ---------------------------------------------------------------------

_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=12)
    | st.sampled_from(["mds", "json", "csv", "xsv", "zstd", "../x", "shard.00000.mds", "\x00"]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_SHARD_KEYS = [
    "version",
    "format",
    "samples",
    "raw_data",
    "zip_data",
    "raw_meta",
    "compression",
    "hashes",
    "column_names",
    "column_encodings",
    "column_sizes",
    "columns",
    "newline",
    "separator",
    "basename",
    "bytes",
]
_index_like = st.fixed_dictionaries(
    {
        "version": st.sampled_from([2, 2, 1, "2"]),
        "shards": st.lists(
            st.dictionaries(st.sampled_from(_SHARD_KEYS), _json_values, max_size=10), max_size=3
        ),
    }
)
_index_bytes = st.one_of(
    st.binary(max_size=300),
    _json_values.map(lambda v: json.dumps(v).encode()),
    _index_like.map(lambda v: json.dumps(v).encode()),
)


@FUZZ
@given(raw=_index_bytes)
def test_random_index_json(raw: bytes) -> None:
    with guard():
        try:
            obj = parse_index(raw, "fuzz/index.json")
        except IndexFormatError as err:
            assert "fuzz/index.json" in str(err)
            return
    assert obj["version"] == 2
    with tempfile.TemporaryDirectory() as tmp, guard():
        Path(tmp, "index.json").write_bytes(raw)
        try:
            _read_everything(Path(tmp), None)
        except (FormatError, FileNotFoundError):
            pass  # a valid index names shard files that are not there


# -- (b) mutated shard files -------------------------------------------------------------------


@pytest.mark.parametrize("name", DATASETS)
@FUZZ
@given(data=st.data())
def test_mutated_shard_files(datasets: dict[str, Path], name: str, data: st.DataObject) -> None:
    files = _data_files(datasets[name])
    target = data.draw(st.sampled_from(files), label="file")
    edits = data.draw(mutations(), label="edits")
    validate_hash = data.draw(st.sampled_from([None, None, None, "xxh64"]), label="validate_hash")
    with _copy(datasets[name]) as work, guard():
        path = work / target
        path.write_bytes(_mutate(path.read_bytes(), edits))
        try:
            _read_everything(work, validate_hash)
        except FormatError:
            pass


@pytest.mark.parametrize("name", ["mds", "csv"])
@FUZZ
@given(data=st.data())
def test_mutated_shard_with_agreeing_index(
    datasets: dict[str, Path], name: str, data: st.DataObject
) -> None:
    """A mutated file whose size index.json is made to agree with, so the contents get parsed."""
    files = _data_files(datasets[name])
    target = data.draw(st.sampled_from(files), label="file")
    edits = data.draw(mutations(), label="edits")
    with _copy(datasets[name]) as work, guard():
        path = work / target
        path.write_bytes(_mutate(path.read_bytes(), edits))
        obj = json.loads((work / "index.json").read_bytes())
        for shard in obj["shards"]:
            for key in ("raw_data", "raw_meta", "zip_data"):
                if shard.get(key) and shard[key]["basename"] == target:
                    shard[key]["bytes"] = path.stat().st_size
        (work / "index.json").write_text(json.dumps(obj))
        try:
            _read_everything(work, None)
        except FormatError:
            pass


# -- (c) mutated index.json --------------------------------------------------------------------

_DELETE = object()
_replacement = st.one_of(
    _json_values,
    st.sampled_from(
        [
            _DELETE,
            -1,
            0,
            2**32,
            2**63,
            10**30,
            "",
            "..",
            "../shard.00000.mds",
            "pkl",
            "zstd:99",
            "ndarray:uint8:99999,99999",
            "shard.00001.mds",
            "shard.00000.csv.meta",
            "\ud800",
        ]
    ),
)


def _paths(obj: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from _paths(value, (*prefix, i))


def _replace(obj: Any, path: tuple, value: Any) -> Any:
    parent = obj
    for key in path[:-1]:
        parent = parent[key]
    if value is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return obj


def _names_a_missing_file(work: Path) -> bool:
    """Whether the (parsable) index names a shard file of which no form is on disk."""
    try:
        obj = parse_index((work / "index.json").read_bytes(), "index.json")
    except IndexFormatError:
        return False
    for shard in obj["shards"]:
        for raw_key, zip_key in (("raw_data", "zip_data"), ("raw_meta", "zip_meta")):
            names = [shard[k]["basename"] for k in (raw_key, zip_key) if shard.get(k)]
            if names and not any((work / name).is_file() for name in names):
                return True
    return False


@pytest.mark.parametrize("name", DATASETS)
@FUZZ
@given(data=st.data())
def test_mutated_index_json(datasets: dict[str, Path], name: str, data: st.DataObject) -> None:
    with _copy(datasets[name]) as work:
        index = work / "index.json"
        if data.draw(st.booleans(), label="structured"):
            obj = json.loads(index.read_bytes())
            for _ in range(data.draw(st.integers(1, 3), label="changes")):
                paths = list(_paths(obj))[1:]
                if not paths:
                    break
                path = data.draw(st.sampled_from(paths), label="path")
                obj = _replace(obj, path, data.draw(_replacement, label="value"))
            index.write_text(json.dumps(obj))
        else:
            index.write_bytes(_mutate(index.read_bytes(), data.draw(mutations(), label="edits")))
        validate_hash = data.draw(st.sampled_from([None, "xxh64"]), label="validate_hash")
        with guard():
            try:
                _read_everything(work, validate_hash)
            except FormatError:
                pass
            except FileNotFoundError:
                assert _names_a_missing_file(work)


# -- the codecs and the column decoders on their own -------------------------------------------

FAMILIES = ["zstd", "gz", "bz2", "br", "snappy"]
_SAMPLE_RAW = b"".join(json.dumps(_mds_sample(i), default=str).encode() for i in range(50))
_VALID_STREAMS = {family: compress(family, _SAMPLE_RAW) for family in FAMILIES}


@pytest.mark.parametrize("family", FAMILIES)
@FUZZ
@given(data=st.data())
def test_decompress_random_and_mutated(family: str, data: st.DataObject) -> None:
    if data.draw(st.booleans(), label="random"):
        blob = data.draw(st.binary(max_size=400), label="blob")
    else:
        blob = _mutate(_VALID_STREAMS[family], data.draw(mutations(), label="edits"))
    max_size = data.draw(st.sampled_from([len(_SAMPLE_RAW), 100, 1 << 20]), label="max_size")
    with guard():
        try:
            out = decompress(family, blob, "fuzz", max_size=max_size)
        except DecompressionError:
            return
    assert len(out) <= max_size


_DECODABLE = sorted(enc for enc in get_mds_encodings() if enc != "pkl") + [
    "ndarray:float32",
    "ndarray:uint16:3,4",
]


@pytest.mark.parametrize("encoding", _DECODABLE)
@settings(FUZZ, max_examples=40)
@given(blob=st.binary(max_size=200))
def test_decode_random_bytes(encoding: str, blob: bytes) -> None:
    decode: Callable[[Any], Any] = get_coder(encoding).decode
    with guard():
        try:
            decode(memoryview(blob))
        except EncodingError:
            pass
