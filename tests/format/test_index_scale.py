"""Indexes of 10^5 shards: column-wise loading, lazy readers, the sidecar, and every error.

Each error case edits one shard deep in the index (in a later parsing chunk) and checks that the
message is word for word the one of the per-shard validator (what the dict-based reader raised),
and that it names the shard and the field.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from streaming.format import reader as reader_module
from streaming.format.errors import (
    EncodingError,
    IndexFormatError,
    IndexJSONError,
    UnsafeEncodingError,
)
from streaming.format.index import validate_shard
from streaming.format.reader import open_shards, read_table
from streaming.format.sidecar import index_key, load_sidecar, sidecar_path

N = 100_000
K = 73_211  # the edited shard: in a late chunk, neither first nor last


def _entry(i: int) -> dict:
    return {
        "column_encodings": ["str", "int"],
        "column_names": ["text", "id"],
        "column_sizes": [None, 8],
        "compression": None,
        "format": "mds",
        "hashes": ["xxh64"],
        "raw_data": {"basename": f"shard.{i:06}.mds", "bytes": 1000 + i % 7, "hashes": {}},
        "samples": 10 + i % 3,
        "size_limit": 67108864,
        "version": 2,
        "zip_data": None,
    }


@pytest.fixture(scope="module")
def entries() -> list[bytes]:
    """The JSON text of each entry, as the peer's writer lays it out."""
    base = json.dumps(_entry(0), sort_keys=True)
    head, tail = base.split('"shard.000000.mds", "bytes": 1000')
    tail_s = tail.split('"samples": 10')
    out = []
    for i in range(N):
        text = (
            f'{head}"shard.{i:06}.mds", "bytes": {1000 + i % 7}{tail_s[0]}"samples": {10 + i % 3}'
        )
        out.append((text + tail_s[1]).encode())
    assert json.loads(out[5]) == _entry(5)
    return out


def _write(tmp_path: Path, entries: list[bytes], sep: bytes = b", ") -> Path:
    path = tmp_path / "index.json"
    path.write_bytes(b'{"shards": [' + sep.join(entries) + b'], "version": 2}')
    return path


def test_loads_column_wise_and_builds_readers_on_first_use(tmp_path, entries):
    _write(tmp_path, entries)
    shards = open_shards(str(tmp_path))
    assert len(shards) == N
    expected = np.array([10 + i % 3 for i in range(N)], np.int64)
    assert np.array_equal(shards.samples, expected)
    assert np.array_equal(shards.file_bytes(), [1000 + i % 7 for i in range(N)])
    assert sorted(shards._built) == [0]  # the first shard of the one column layout
    assert shards[K].entry == _entry(K)
    assert shards[-1].shard_id == N - 1 and shards[-1].samples == expected[-1]
    assert sorted(shards._built) == [0, K, N - 1]
    clone = pickle.loads(pickle.dumps(shards))
    assert clone._built == {} and clone[K].entry == _entry(K)
    with pytest.raises(IndexError, match=f"Shard index {N} is out of range for {N} shards"):
        shards[N]


def test_any_separators_between_entries(tmp_path, entries):
    few = entries[:40_000]
    path = _write(tmp_path, few, b",\n   ")
    table = read_table(str(path))
    assert json.loads(table.entry_bytes(31_337)) == _entry(31_337)
    odd = b",".join(e + b" " * (i % 3) for i, e in enumerate(few))
    path.write_bytes(b'{"version": 2, "shards": [' + odd + b"]}")
    table = read_table(str(path))
    assert table.entry(39_999) == _entry(39_999) and table.entry(7) == _entry(7)


def test_sidecar_is_written_then_mapped_instead_of_parsing(tmp_path, entries, monkeypatch):
    path = _write(tmp_path, entries)
    meta = tmp_path / "meta"
    meta.mkdir()
    first = open_shards(str(tmp_path), meta_dir=str(meta))
    key, _ = index_key(str(path))
    assert os.path.isfile(sidecar_path(str(meta), key))

    def no_parsing(*args, **kwargs):
        raise AssertionError("parsed again")

    monkeypatch.setattr(reader_module, "table_from_bytes", no_parsing)
    second = open_shards(str(tmp_path), meta_dir=str(meta))
    for name, column in first.table.columns.items():
        assert np.array_equal(second.table.columns[name], column), name
    assert second[K].entry == _entry(K)


def test_a_pickled_table_maps_the_sidecar_again(tmp_path, entries, monkeypatch):
    """A DataLoader worker started by spawn or forkserver gets the dataset pickled: the columns
    travel as a reference to the node cache's sidecar, not as a copy; with the sidecar gone the
    index is parsed again, and a changed index is named."""
    path = _write(tmp_path, entries)
    meta = tmp_path / "meta"
    meta.mkdir()
    for attempt in range(2):  # the process that parsed and wrote it, then one that mapped it
        shards = open_shards(str(tmp_path), meta_dir=str(meta))
        assert shards.table.sidecar is not None, attempt
        data = pickle.dumps(shards)
        assert len(data) < 20_000  # the columns of 10^5 shards are 5.7 MB
        clone = pickle.loads(data)
        for name, column in shards.table.columns.items():
            assert np.array_equal(clone.table.columns[name], column), name
            assert not clone.table.columns[name].flags.owndata  # mapped
        assert clone[K].entry == _entry(K)
    key, _ = index_key(str(path))
    os.remove(sidecar_path(str(meta), key))
    assert pickle.loads(data)[K].entry == _entry(K)  # parsed again
    without = open_shards(str(tmp_path))  # no node cache: the columns travel
    assert without.table.sidecar is None and len(pickle.dumps(without)) > 1_000_000
    _write(tmp_path, entries[1:])
    with pytest.raises(IndexFormatError, match="changed after it was read"):
        pickle.loads(data)


def test_sidecar_not_trusted_when_it_does_not_match(tmp_path, entries):
    path = _write(tmp_path, entries[:1000])
    meta = tmp_path / "meta"
    meta.mkdir()
    open_shards(str(tmp_path), meta_dir=str(meta))
    key, _ = index_key(str(path))
    side = Path(sidecar_path(str(meta), key))
    data = bytearray(side.read_bytes())
    data[-5] ^= 1  # a flipped bit in the columns
    side.write_bytes(bytes(data))
    assert load_sidecar(str(meta), key, str(path)) is None
    side.write_bytes(bytes(data[:-100]))  # truncated
    assert load_sidecar(str(meta), key, str(path)) is None
    assert load_sidecar(str(meta), "0-1-2", str(path)) is None  # another index's key
    shards = open_shards(str(tmp_path), meta_dir=str(meta))  # parses, and rewrites it
    assert shards.samples.sum() == sum(10 + i % 3 for i in range(1000))
    assert load_sidecar(str(meta), key, str(path)) is not None
    # The index changes: its key changes, the old sidecar is replaced.
    _write(tmp_path, entries[:999])
    assert len(open_shards(str(tmp_path), meta_dir=str(meta))) == 999
    assert [n for n in os.listdir(meta) if n.endswith(".cols")] == [
        os.path.basename(sidecar_path(str(meta), index_key(str(path))[0]))
    ]


def test_unwritable_meta_dir_just_parses(tmp_path, entries):
    _write(tmp_path, entries[:100])
    shards = open_shards(str(tmp_path), meta_dir=str(tmp_path / "missing" / "meta"))
    assert len(shards) == 100


def test_index_changed_after_reading_is_named(tmp_path, entries):
    path = _write(tmp_path, entries[:100])
    shards = open_shards(str(tmp_path))
    _write(tmp_path, entries[1:101])
    os.utime(path, ns=(1, 1))
    with pytest.raises(IndexFormatError, match="changed after it was read"):
        shards[50]


def _edit(entry: dict, change: str) -> dict | str:
    e = json.loads(json.dumps(entry))
    exec(change, {}, {"e": e})
    return e


# (edit of shard K, field the message must name)
CASES = [
    ("e['version'] = 3", "shard version 3"),
    ("del e['version']", "shard version None"),
    ("e['format'] = 'parquet'", "unknown format 'parquet'"),
    ("e['format'] = 7", "unknown format 7"),
    ("e['samples'] = -1", "'samples'"),
    ("e['samples'] = 2**32", "'samples'"),
    ("e['samples'] = 'many'", "'samples'"),
    ("e['samples'] = True", "'samples'"),
    ("e['samples'] = 2**70", "'samples'"),
    ("del e['samples']", "'samples'"),
    ("del e['raw_data']", "missing 'raw_data'"),
    ("e['raw_data'] = []", "'raw_data' must be an object"),
    ("e['raw_data']['basename'] = '../up.mds'", "raw_data.basename '../up.mds'"),
    ("e['raw_data']['basename'] = '/abs.mds'", "raw_data.basename '/abs.mds'"),
    ("e['raw_data']['basename'] = 'index.json'", "raw_data.basename 'index.json'"),
    ("e['raw_data']['basename'] = '.streaming/x'", "raw_data.basename '.streaming/x'"),
    ("e['raw_data']['basename'] = ''", "raw_data.basename must be"),
    ("e['raw_data']['basename'] = 'a\\\\b.mds'", "raw_data.basename"),
    ("e['raw_data']['bytes'] = 2**32", "raw_data.bytes is 4294967296"),
    ("e['raw_data']['bytes'] = -3", "raw_data.bytes must be"),
    ("e['raw_data']['bytes'] = 1.5", "raw_data.bytes must be"),
    ("e['raw_data']['hashes'] = {'xxh64': 5}", "raw_data.hashes"),
    ("e['zip_data'] = {'basename': 'z.zstd', 'bytes': 5}", "'zip_data' must be given exactly"),
    ("e['compression'] = 'zstd'", "'zip_data' must be given exactly"),
    ("e['compression'] = 'lzma'", "unknown 'compression' 'lzma'"),
    (
        "e['compression'] = 'zstd'; e['zip_data'] = {'basename': '../z', 'bytes': 5}",
        "zip_data.basename '../z'",
    ),
    ("e['hashes'] = None", "'hashes' must be a list"),
    ("e['hashes'] = [1]", "'hashes' must be a list"),
    ("e['column_names'] = ['text']", "must have the same length"),
    ("e['column_names'] = ['id', 'id']", "column 'id' appears twice"),
    ("e['column_encodings'] = ['str', 3]", "column encodings must be strings"),
    ("e['column_sizes'] = [None, -8]", "column sizes must be integers"),
    ("del e['column_sizes']", "'column_sizes' must be a list"),
    ("e['newline'] = ''", "'newline' must be a non-empty string"),
    ("e['separator'] = None", "'separator' must be a non-empty string"),
    ("e['format'] = 'csv'", "'raw_meta'"),
]


@pytest.mark.slow  # ~1 s a case on a quiet machine
@pytest.mark.parametrize(("change", "names"), CASES, ids=[c for c, _ in CASES])
def test_each_error_names_the_shard_and_field(tmp_path, entries, change, names):
    bad = _edit(_entry(K), change)
    with pytest.raises(IndexFormatError) as expected:
        validate_shard(bad, K, str(tmp_path / "index.json"))  # the per-shard reader's message
    edited = list(entries)
    edited[K] = json.dumps(bad, sort_keys=True).encode()
    _write(tmp_path, edited)
    with pytest.raises(IndexFormatError) as got:
        open_shards(str(tmp_path))
    assert str(got.value) == str(expected.value)
    assert f"shard {K}" in str(got.value) and names in str(got.value)


def test_first_bad_shard_wins_across_kinds_of_check(tmp_path, entries):
    edited = list(entries)
    # K: only the vectorized basename check sees it; K + 1: msgspec's types refuse it.
    edited[K] = json.dumps(_edit(_entry(K), "e['raw_data']['basename'] = '../x'")).encode()
    edited[K + 1] = json.dumps(_edit(_entry(K + 1), "e['samples'] = 'x'")).encode()
    _write(tmp_path, edited)
    with pytest.raises(IndexFormatError, match=f"shard {K}: raw_data.basename '../x'"):
        open_shards(str(tmp_path))


def test_unusual_but_valid_entries_load(tmp_path, entries):
    edited = list(entries)
    odd = _edit(_entry(K), "e['raw_data']['basename'] = 'données/.hidden.mds'; e['extra'] = [1]")
    edited[K] = json.dumps(odd, ensure_ascii=False).encode()
    _write(tmp_path, edited)
    shards = open_shards(str(tmp_path))
    assert shards[K].entry == odd and shards.samples[K] == odd["samples"]


def test_not_json_in_one_shard(tmp_path, entries):
    edited = list(entries)
    edited[K] = edited[K].replace(b'"samples": ', b'"samples": \x80')
    _write(tmp_path, edited)
    with pytest.raises(IndexJSONError, match="Malformed index .*: not valid JSON"):
        open_shards(str(tmp_path))
    edited[K] = edited[K][:-1]
    _write(tmp_path, edited)
    with pytest.raises(IndexJSONError, match="not valid JSON"):
        open_shards(str(tmp_path))


def test_unknown_and_unsafe_encodings_name_the_first_shard(tmp_path, entries):
    edited = list(entries)
    for i in (K, K + 5):
        edited[i] = json.dumps(_edit(_entry(i), "e['column_encodings'] = ['str', 'int9']")).encode()
    _write(tmp_path, edited)
    with pytest.raises(EncodingError, match=f"Unknown encoding 'int9' for column 'id' .*shard {K}"):
        open_shards(str(tmp_path))
    edited[K] = json.dumps(_edit(_entry(K), "e['column_encodings'] = ['pkl', 'int']")).encode()
    _write(tmp_path, edited)
    with pytest.raises(UnsafeEncodingError, match=f"Column 'text' of shard {K} .* uses 'pkl'"):
        open_shards(str(tmp_path))


def test_parsing_is_guarded_and_skipped_once_cached(tmp_path, entries):
    _write(tmp_path, entries[:2000])
    meta = tmp_path / "meta"
    meta.mkdir()
    entered = []

    class Guard:
        def __enter__(self):
            entered.append(len(os.listdir(meta)))

        def __exit__(self, *exc):
            return False

    open_shards(str(tmp_path), meta_dir=str(meta), guard=Guard)
    open_shards(str(tmp_path), meta_dir=str(meta), guard=Guard)
    assert entered == [0]  # only the first parses (under the guard); the second maps


def test_streaming_dataset_over_100k_shards_builds_few_readers(tmp_path, entries, monkeypatch):
    from streaming import StreamingDataset
    from streaming.cache.paths import meta_dir

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    data = tmp_path / "data"
    data.mkdir()
    _write(data, entries)
    for _ in range(2):  # parsed, then mapped from the sidecar
        ds = StreamingDataset(local=str(data), batch_size=4, cache_limit="100gb")
        assert ds.num_shards == N and ds.num_samples == sum(10 + i % 3 for i in range(N))
        assert np.array_equal(ds.samples_per_shard[:4], [10, 11, 12, 10])
        assert sorted(ds.shards.parts[0]._built) == [0]
        assert ds.shards[K].entry == _entry(K)
    assert any(n.endswith(".cols") for n in os.listdir(meta_dir(str(data))))


def test_serial_and_parallel_decoding_agree(tmp_path, entries, monkeypatch):
    from streaming.format import index_table

    edited = list(entries)
    edited[K] = json.dumps(_edit(_entry(K), "e['raw_data']['basename'] = 'é/x.mds'")).encode()
    path = _write(tmp_path, edited)
    tables = []
    for workers in (1, 2):
        monkeypatch.setattr(index_table, "MAX_WORKERS", workers)
        monkeypatch.setattr(index_table, "_workers", lambda chunks, w=workers: w)
        tables.append(read_table(str(path)))
        assert tables[-1].entry(K)["raw_data"]["basename"] == "é/x.mds"
        edited[K + 1] = json.dumps(_edit(_entry(K + 1), "e['samples'] = 'x'")).encode()
        _write(tmp_path, edited)
        with pytest.raises(IndexFormatError, match=f"shard {K + 1}: 'samples' must be"):
            read_table(str(path))
        edited[K + 1] = entries[K + 1]
        _write(tmp_path, edited)
    serial, parallel = tables
    for name, column in serial.columns.items():
        assert np.array_equal(parallel.columns[name], column), name
    assert serial.layout_first == parallel.layout_first == [0]
