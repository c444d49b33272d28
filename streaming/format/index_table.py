"""An `index.json` held column-wise: NumPy arrays of what every shard needs at once.

Parsing a million-shard index into a million dicts costs gigabytes and many seconds. Here the
index is decoded with msgspec, chunk by chunk, into typed structs that live only while their
chunk's columns are filled: sample counts, file sizes, format, a layout id (columns, encodings,
separators: shards sharing one are checked once), and where each shard's JSON text lies in
the file. A shard's full entry (a dict, exactly what ``json.loads`` gives) is read back from
those bytes only when its reader is built.

Validation is today's (`streaming.format.index.validate_shard`), vectorized: cheap checks run on
whole columns and flag every shard that could be invalid; the flagged shards (and every shard of
a chunk msgspec's types reject) are then checked by the per-shard validator, in index order, so
the first error raised is the one the dict-based reader raises, word for word.
"""

from __future__ import annotations

import json
import multiprocessing
import operator
import os
import re
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any, NoReturn

import msgspec
import numpy as np

from streaming.format.errors import IndexFormatError
from streaming.format.index import (
    _MAX_ZIP_BYTES,
    INDEX_BASENAME,
    MAX_FILE_BYTES,
    parse_index,
    validate_shard,
)

__all__ = ["IndexTable", "FORMATS", "table_from_bytes"]

#: Format codes of the `fmt` column.
FORMATS = ("mds", "json", "csv", "tsv", "xsv")
_CODES = {name: code for code, name in enumerate(FORMATS)}
_SPLIT_CODES = {1, 2, 3, 4}
_BAD = 255
_CHUNK = 16384
#: A basename that is surely a relative path inside the dataset (others are checked one by one).
_SAFE_NAME = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]*(?:/[A-Za-z0-9_\-][A-Za-z0-9_.\-]*)*")
_SAFE_NAMES = re.compile(rf"(?:{_SAFE_NAME.pattern}\n)*{_SAFE_NAME.pattern}")
_SEP = frozenset(b" \t\r\n,")

#: The columns of an `IndexTable`, with their dtypes (all 1-D, one value per shard).
COLUMNS = {
    "start": np.int64,  # where the shard's JSON object begins in the index bytes
    "length": np.int64,  # and its length
    "samples": np.int64,
    "raw_bytes": np.int64,  # raw_data.bytes
    "zip_bytes": np.int64,  # zip_data.bytes, -1 without one
    "meta_bytes": np.int64,  # raw_meta.bytes + zip_meta.bytes of the split formats, else 0
    "fmt": np.uint8,
    "layout": np.int64,  # layout id (equal columns, encodings, separators)
}


class _File(msgspec.Struct, gc=False):
    basename: str
    bytes: int
    hashes: dict[str, str] = {}


_MISSING = msgspec.Raw(b"")
#: Entry fields that most shards of an index share: checked once per distinct combination.
_SHARED = (
    "version",
    "format",
    "compression",
    "hashes",
    "column_names",
    "column_encodings",
    "column_sizes",
    "columns",
    "newline",
    "separator",
)


class _Entry(msgspec.Struct, gc=False, kw_only=True):
    samples: int
    raw_data: _File
    zip_data: _File | None = None
    version: msgspec.Raw = _MISSING
    format: msgspec.Raw = _MISSING
    compression: msgspec.Raw = _MISSING
    hashes: msgspec.Raw = _MISSING
    column_names: msgspec.Raw = _MISSING
    column_encodings: msgspec.Raw = _MISSING
    column_sizes: msgspec.Raw = _MISSING
    columns: msgspec.Raw = _MISSING
    newline: msgspec.Raw = _MISSING
    separator: msgspec.Raw = _MISSING


_SHARED_GET = operator.attrgetter(*_SHARED)
_RAW_DATA = operator.attrgetter("raw_data")
_ZIP_DATA = operator.attrgetter("zip_data")
_SAMPLES = operator.attrgetter("samples")
_BYTES = operator.attrgetter("bytes")
_BASENAME = operator.attrgetter("basename")


class _Top(msgspec.Struct):
    shards: list[msgspec.Raw]
    version: Any = None


_TOP = msgspec.json.Decoder(_Top)
_ENTRIES = msgspec.json.Decoder(list[_Entry])


@dataclass
class IndexTable:
    """The shards of one `index.json`, column-wise.

    Attributes:
        path: the index file (for messages, and to read entries back from when `data` is None).
        columns: name -> 1-D array, one value per shard (see `COLUMNS`).
        layout_first: the first shard of each layout, in index order.
        stat: (size, mtime_ns) of the index file when it was read (None: `data` holds the bytes).
        data: the index bytes the `start`/`length` columns point into, when not the file's.
        sidecar: ``(meta_dir, key)`` of the node cache's sidecar that holds these columns, if
            any: a pickled table (a DataLoader worker started by spawn or forkserver) maps the
            sidecar again instead of carrying a copy of the columns.
    """

    path: str
    columns: dict[str, np.ndarray]
    layout_first: list[int]
    stat: tuple[int, int] | None = None
    data: bytes | None = None
    sidecar: tuple[str, str] | None = None
    _fd: int | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.columns["samples"])

    @property
    def samples(self) -> np.ndarray:
        """Samples of each shard (int64)."""
        return self.columns["samples"]

    def file_bytes(self) -> np.ndarray:
        """Bytes of all the files of each shard, raw and compressed (what a fetch may hold)."""
        c = self.columns
        return c["raw_bytes"] + np.maximum(c["zip_bytes"], 0) + c["meta_bytes"]

    def entry_bytes(self, i: int) -> bytes:
        """The JSON text of shard `i`'s entry, as the index holds it."""
        start, length = int(self.columns["start"][i]), int(self.columns["length"][i])
        if self.data is not None:
            return self.data[start : start + length]
        if self._fd is None:
            fd = os.open(self.path, os.O_RDONLY)
            st = os.fstat(fd)
            if self.stat is not None and (st.st_size, st.st_mtime_ns) != self.stat:
                os.close(fd)
                raise IndexFormatError(
                    f"{self.path!r} changed after it was read (size or modification time "
                    "differs): rebuild the dataset object to read the new index"
                )
            self._fd = fd
        return os.pread(self._fd, length, start)

    def entry(self, i: int) -> dict[str, Any]:
        """Shard `i`'s entry as ``json.loads`` gives it (checked against its sample count)."""
        try:
            entry = json.loads(self.entry_bytes(i))
        except ValueError:
            entry = None
        if not isinstance(entry, dict) or entry.get("samples") != int(self.samples[i]):
            raise IndexFormatError(
                f"{self.path!r} changed after it was read (shard {i} no longer reads as it did): "
                "rebuild the dataset object to read the new index"
            )
        return entry

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_fd"] = None
        if self.sidecar is not None:
            state["columns"] = None  # mapped again from the sidecar by `__setstate__`
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self.columns is None:
            self.columns = _columns_again(self)

    def __del__(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass


def _columns_again(table: IndexTable) -> dict[str, np.ndarray]:
    """The columns of a table pickled without them: its sidecar mapped again, or (the sidecar
    gone) the index parsed again, if it is still the file that was read."""
    from streaming.format.reader import _parse
    from streaming.format.sidecar import index_key, load_sidecar

    assert table.sidecar is not None
    meta_dir, key = table.sidecar
    found = load_sidecar(meta_dir, key, table.path)
    if found is None:
        try:
            same = index_key(table.path)[0] == key
        except OSError:
            same = False
        if not same:
            raise IndexFormatError(
                f"{table.path!r} changed after it was read (size or modification time differs, "
                "or it is gone): rebuild the dataset object to read the new index"
            )
        found = _parse(table.path)
    if found.layout_first != table.layout_first or found.stat != table.stat:
        raise IndexFormatError(
            f"{table.path!r} changed after it was read: rebuild the dataset object to read the "
            "new index"
        )
    return found.columns


def table_from_bytes(buf: Any, path: str, stat: tuple[int, int] | None = None) -> IndexTable:
    """Parse and validate the index bytes `buf` read from `path` (an mmap or bytes).

    Raises what `streaming.format.index.parse_index` raises, with the same messages.
    """
    try:
        top = _TOP.decode(buf)
    except msgspec.MsgspecError:
        return _from_objects(buf, path)
    if top.version != 2:
        del top
        return _from_objects(buf, path)  # the reader's message, whatever else is wrong
    builder = _Builder(buf, path, top.shards)
    del top
    try:
        table = builder.run()
    except IndexFormatError:
        raise
    except (ValueError, RecursionError):  # what json refuses and msgspec let through (bad UTF-8)
        del builder
        return _from_objects(buf, path)
    table.stat = stat
    return table


def _from_objects(buf: Any, path: str) -> IndexTable:
    """The slow road, for what msgspec refuses: the dict-based reader (its errors, its
    leniency), then the table built from a re-encoding of what it accepted."""
    obj = parse_index(bytes(buf), path)
    data = json.dumps(obj).encode("utf-8")
    try:
        top = _TOP.decode(data)
    except msgspec.MsgspecError as err:
        raise IndexFormatError(f"Malformed index {path!r}: {err}") from None
    table = _Builder(data, path, top.shards).run()
    table.data = data
    return table


class _Builder:
    def __init__(self, buf: Any, path: str, raws: list) -> None:
        self.buf = buf
        self.path = path
        self.raws = raws
        self.view = np.frombuffer(buf, np.uint8)
        self.base = self.view.ctypes.data
        n = len(raws)
        self.cols = {name: np.zeros(n, dtype) for name, dtype in COLUMNS.items()}
        self.layouts: dict[tuple, int] = {}
        self.layout_ok: list[bool] = []
        self.layout_fmt: list[int] = []
        self.layout_compressed: list[bool] = []
        self.layout_first: list[int] = []

    def run(self) -> IndexTable:
        n = len(self.raws)
        firsts = list(range(0, n, _CHUNK))
        for a in firsts:
            self._place(a, self.raws[a : a + _CHUNK])
        workers = _workers(len(firsts))
        if workers > 1:
            self._run_parallel(firsts, workers)
        else:
            for a in firsts:
                self._chunk(a)
        self.raws = []
        return IndexTable(self.path, self.cols, self.layout_first)

    def _run_parallel(self, firsts: list[int], workers: int) -> None:
        """Decode the chunks in forked worker processes (they inherit the index bytes); merge
        and check them here, in order. A chunk a worker could not decode is redone here (which
        raises the error the serial path raises)."""
        global _FORK_BUF
        cols = self.cols
        spans = []
        for a in firsts:
            last = min(a + _CHUNK, len(self.raws)) - 1
            spans.append((int(cols["start"][a]), int(cols["start"][last] + cols["length"][last])))
        _FORK_BUF = self.buf
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # fork: checked single-threaded
                pool = multiprocessing.get_context("fork").Pool(workers)
            try:
                # All results are taken before any is merged: a merge may raise (a bad shard),
                # and terminating a pool whose task feeder is still writing can hang.
                parts: list = pool.map(_decode_span, spans, chunksize=1)
                pool.close()
            except BaseException:
                pool.terminate()
                raise
            finally:
                pool.join()
        finally:
            _FORK_BUF = None
        for n, a in enumerate(firsts):
            part, parts[n] = parts[n], None
            if isinstance(part, str):
                self._chunk(a)  # raises, as the serial path does
            else:
                self._merge(a, part)

    def _place(self, a: int, chunk: list) -> None:
        lens = np.fromiter(map(len, chunk), np.int64, len(chunk))
        self.cols["length"][a : a + len(chunk)] = lens
        self.cols["start"][a : a + len(chunk)] = self._starts(chunk, lens)

    def _chunk(self, a: int) -> None:
        chunk = self.raws[a : a + _CHUNK]
        text = b"[" + b",".join(chunk) + b"]"
        part = _decode(text)
        if part == "unicode":
            text.decode("utf-8")  # raises UnicodeDecodeError: the lenient reader then decides
        if part == "types":
            try:
                _ENTRIES.decode(text)
            except msgspec.ValidationError as err:
                self._check_one_by_one(a, len(chunk), err)  # raises
        if part == "overflow":
            self._check_one_by_one(a, len(chunk), None)  # raises
        assert not isinstance(part, str)
        self._merge(a, part)

    def _merge(self, a: int, part: dict[str, Any]) -> None:
        """Put a decoded chunk's columns in place, give its layouts their ids, and check every
        shard the cheap checks flag with the per-shard validator (in order)."""
        cols = self.cols
        k = len(part["samples"])
        ids = np.array(
            [
                self.layouts[key] if key in self.layouts else self._new_layout(key, a + first)
                for key, first in zip(part["keys"], part["firsts"], strict=True)
            ],
            np.int64,
        )
        layout = ids[part["local"]]
        cols["layout"][a : a + k] = layout
        ok = np.array(self.layout_ok, bool)[layout]
        cols["fmt"][a : a + k] = np.array(self.layout_fmt, np.uint8)[layout]
        compressed = np.array(self.layout_compressed, bool)[layout]
        samples, raw_bytes, zip_bytes = part["samples"], part["raw_bytes"], part["zip_bytes"]
        cols["samples"][a : a + k] = samples
        cols["raw_bytes"][a : a + k] = raw_bytes
        cols["zip_bytes"][a : a + k] = zip_bytes
        flags = ~ok | (compressed != (zip_bytes >= 0))
        flags |= (samples < 0) | (samples > MAX_FILE_BYTES)
        flags |= (raw_bytes < 0) | (raw_bytes > MAX_FILE_BYTES) | (zip_bytes > _MAX_ZIP_BYTES)
        flags |= (zip_bytes < -1) | part["odd"]
        for j in np.flatnonzero(flags):
            self._check_flagged(a + int(j))

    def _addr(self, raw: Any) -> int:
        return np.frombuffer(raw, np.uint8).ctypes.data - self.base

    def _starts(self, chunk: list, lens: np.ndarray) -> np.ndarray:
        """Where each entry of `chunk` begins: derived from the first, the last and the lengths
        when the separators are all alike (checked byte by byte), else asked of each one."""
        k = len(chunk)
        first = self._addr(chunk[0])
        if k > 1:
            gaps = self._addr(chunk[-1]) - first - int(lens[:-1].sum())
            if gaps >= k - 1 and gaps % (k - 1) == 0:
                g = gaps // (k - 1)
                starts = first + np.concatenate(([0], np.cumsum(lens[:-1] + g)))
                if self._gaps_ok(starts, lens, g):
                    return starts
        return np.fromiter((self._addr(r) for r in chunk), np.int64, k)

    def _gaps_ok(self, starts: np.ndarray, lens: np.ndarray, g: int) -> bool:
        v = self.view
        ends = starts + lens
        if not (np.all(v[starts] == ord("{")) and np.all(v[ends - 1] == ord("}"))):
            return False
        commas = np.zeros(len(starts) - 1, np.int64)
        for j in range(g):
            byte = v[ends[:-1] + j]
            if not np.all(np.isin(byte, list(_SEP))):
                return False
            commas += byte == ord(",")
        return bool(np.all(commas == 1))

    def _new_layout(self, key: bytes, i: int) -> int:
        """Register the combination of shared fields `key`, first seen at shard `i`, and
        whether the per-shard validator accepts it (with valid files)."""
        found = self.layouts[key] = len(self.layout_first)
        self.layout_first.append(i)
        shard: dict[str, Any] = {}
        for name, value in zip(_SHARED, key.split(b"\0"), strict=True):
            if value:
                shard[name] = json.loads(value)
        fmt = shard.get("format")
        code = _CODES.get(fmt, _BAD) if isinstance(fmt, str) else _BAD
        compression = shard.get("compression")
        self.layout_fmt.append(code)
        self.layout_compressed.append(compression is not None)
        probe = {"bytes": 1, "basename": "x", "hashes": {}}
        shard.update(samples=0, raw_data=probe, zip_data=probe if compression is not None else None)
        try:
            validate_shard(shard, i, self.path)
            self.layout_ok.append(code not in _SPLIT_CODES)  # meta files: checked one by one
        except IndexFormatError:
            self.layout_ok.append(False)
        return found

    def _entry(self, i: int) -> Any:
        return json.loads(bytes(self.raws[i]))

    def _check_flagged(self, i: int) -> None:
        """Check shard `i` with the per-shard validator (raises its error); fill what only it
        reads (the meta files of the split formats)."""
        entry = self._entry(i)
        validate_shard(entry, i, self.path)
        meta = 0
        for key in ("raw_meta", "zip_meta"):
            if self.cols["fmt"][i] in _SPLIT_CODES and entry.get(key):
                meta += entry[key]["bytes"]
        self.cols["meta_bytes"][i] = meta

    def _check_one_by_one(self, a: int, k: int, err: Exception | None) -> NoReturn:
        """msgspec refused a chunk: the per-shard validator finds the first bad entry."""
        for i in range(a, a + k):
            validate_shard(self._entry(i), i, self.path)
        if err is None:
            raise IndexFormatError(f"Malformed index {self.path!r}: an integer past 64 bits")
        where = re.sub(r"^.*?\$\[(\d+)\]", lambda m: f"shard {a + int(m.group(1))}:", str(err))
        raise IndexFormatError(f"Malformed index {self.path!r}, {where}")


def _odd_names(names: list[str]) -> np.ndarray:
    """Which basenames need the per-shard check: none when every one is plainly a relative
    path (one regular expression over them all, the common case), else each is looked at."""
    joined = "\n".join(names)
    if (
        joined.count("\n") == len(names) - 1
        and _SAFE_NAMES.fullmatch(joined)
        and f"\n{INDEX_BASENAME}\n" not in f"\n{joined}\n"
    ):
        return np.zeros(len(names), bool)
    return np.array([_SAFE_NAME.fullmatch(n) is None or n == INDEX_BASENAME for n in names], bool)


#: The index bytes, for the forked workers of `_Builder._run_parallel` (set only meanwhile).
_FORK_BUF: Any = None
#: Shards from which an index is decoded in parallel, and the most worker processes.
PARALLEL_MIN_SHARDS = 4 * _CHUNK
MAX_WORKERS = 8


def _workers(chunks: int) -> int:
    """How many processes decode the chunks: one (this one) unless the index is large, this
    process has several CPUs and forking is safe (one thread, not a daemon, fork available)."""
    if (
        chunks * _CHUNK < PARALLEL_MIN_SHARDS
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        return 1
    if threading.active_count() > 1 or multiprocessing.current_process().daemon:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cpus, chunks))


def _decode_span(span: tuple[int, int]) -> dict[str, Any] | str:
    start, end = span
    return _decode(b"[" + _FORK_BUF[start:end] + b"]")


def _decode(text: bytes) -> dict[str, Any] | str:
    """The columns of one chunk (a JSON array of entries), or what stopped it: ``"unicode"``
    (bad UTF-8), ``"types"`` (msgspec refused a value), ``"overflow"`` (an integer past 64 bits).
    Every per-shard step is a C-level map: at a million shards a Python step costs 0.1 s."""
    if not text.isascii():  # msgspec does not check the UTF-8 of what it skips; json does
        try:
            text.decode("utf-8")
        except UnicodeDecodeError:
            return "unicode"
    try:
        entries = _ENTRIES.decode(text)
    except msgspec.ValidationError:
        return "types"
    k = len(entries)
    keys = list(map(b"\0".join, map(_SHARED_GET, entries)))
    unique = dict.fromkeys(keys)
    for n, key in enumerate(unique):
        unique[key] = n
    raws = list(map(_RAW_DATA, entries))
    zips = list(map(_ZIP_DATA, entries))
    try:
        samples = np.fromiter(map(_SAMPLES, entries), np.int64, k)
        raw_bytes = np.fromiter(map(_BYTES, raws), np.int64, k)
        if zips.count(None) == k:
            zip_bytes = np.full(k, -1, np.int64)
        else:
            zip_bytes = np.array([-1 if z is None else z.bytes for z in zips], np.int64)
    except OverflowError:
        return "overflow"
    odd = _odd_names(list(map(_BASENAME, raws)))
    if zips.count(None) != k:
        odd |= _odd_names([z.basename if z is not None else "x" for z in zips])
    return {
        "keys": list(unique),
        "firsts": [keys.index(key) for key in unique],
        "local": np.fromiter(map(unique.__getitem__, keys), np.int64, k),
        "samples": samples,
        "raw_bytes": raw_bytes,
        "zip_bytes": zip_bytes,
        "odd": odd,
    }
