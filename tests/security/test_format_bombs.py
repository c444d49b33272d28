"""Decompression is bounded by the size index.json declares (issue 14, item 5).

An index could declare ``raw_data.bytes`` up to 2**63 although no shard reaches 4 GiB, and a
14 MB gz grew a reader to 1.4 GB; zstd's MemoryError surfaced with an empty reason. Now the
index refuses sizes past 4 GiB, every codec stops as soon as its output passes the declared
size, and a memory failure names itself.
"""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from streaming.format import MDSWriter
from streaming.format import compression as compression_module
from streaming.format.compression import compress, decompress
from streaming.format.errors import DecompressionError, IndexFormatError
from streaming.local import LocalDataset

BOMB_RAW = 16 << 20  # what each bomb inflates to; the index says a few hundred bytes


def _dataset(path: Path, compression: str) -> dict:
    with MDSWriter(out=str(path), columns={"id": "int"}, compression=compression) as out:
        for i in range(10):
            out.write({"id": i})
    return json.loads((path / "index.json").read_bytes())


def _bomb(family: str) -> bytes:
    zeros = bytes(BOMB_RAW)
    if family == "zstd":  # no content size in the frame: only streaming can tell
        import zstandard

        return zstandard.ZstdCompressor(write_content_size=False).compress(zeros)
    return compress({"br": "br:1", "bz2": "bz2:1", "gz": "gz:1"}.get(family, family), zeros)


@pytest.mark.parametrize("family", ["br", "bz2", "gz", "snappy", "zstd"])
def test_bomb_is_refused_within_the_declared_size(tmp_path: Path, family: str) -> None:
    ds = tmp_path / "ds"
    index = _dataset(ds, family)
    shard = index["shards"][0]
    zip_path = ds / shard["zip_data"]["basename"]
    bomb = _bomb(family)
    zip_path.write_bytes(bomb)
    shard["zip_data"]["bytes"] = len(bomb)
    (ds / "index.json").write_text(json.dumps(index))
    declared = shard["raw_data"]["bytes"]
    tracemalloc.start()
    try:
        with pytest.raises(DecompressionError) as info:
            LocalDataset(str(ds))[0]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert message.startswith(f"Could not decompress {str(zip_path)!r} (shard 0) as {family!r}: ")
    assert message.endswith(
        f"but index.json records {declared} bytes. The file is corrupt or stale."
    )
    if family == "snappy":
        assert f"it declares {BOMB_RAW} bytes" in message
    else:
        assert f"it produced more than {declared} bytes" in message
    # The bomb itself plus what one step of the codec may overshoot (brotli: about 1 MiB).
    assert peak < len(bomb) + (3 << 20), f"{family}: {peak} bytes traced"
    assert not (ds / shard["raw_data"]["basename"]).exists()


def test_zstd_frame_declaring_more_than_the_index_is_refused_before_inflating() -> None:
    bomb = compress("zstd", bytes(BOMB_RAW))
    with pytest.raises(DecompressionError, match=f"its frame header declares {BOMB_RAW} bytes"):
        decompress("zstd", bomb, "'x' (shard 3)", max_size=100)


@pytest.mark.parametrize(
    ("key", "size", "limit"),
    [
        ("raw_data", 2**32, 2**32 - 1),
        ("raw_data", 2**63 - 1, 2**32 - 1),
        ("zip_data", 2**40, 2**32 + 2**24),
    ],
)
def test_index_declaring_a_shard_past_4gib_is_refused(
    tmp_path: Path, key: str, size: int, limit: int
) -> None:
    ds = tmp_path / "ds"
    index = _dataset(ds, "zstd")
    index["shards"][0][key]["bytes"] = size
    (ds / "index.json").write_text(json.dumps(index))
    with pytest.raises(IndexFormatError) as info:
        LocalDataset(str(ds))
    assert str(info.value) == (
        f"Malformed index {str(ds / 'index.json')!r}, shard 0: {key}.bytes is {size}, past the "
        f"{limit}-byte limit of a shard file (MDS offsets are 32-bit, so no shard reaches 4 GiB)"
    )


def test_memory_failure_names_its_cause(monkeypatch) -> None:
    family = compression_module._FAMILIES["zstd"]

    def out_of_memory(data: bytes, max_size: int | None) -> bytes:
        raise MemoryError  # what zstandard raises when it cannot allocate the output

    monkeypatch.setitem(
        compression_module._FAMILIES, "zstd", family.__class__(
            family.levels, family.default, family.compress, out_of_memory
        )
    )  # fmt: skip
    with pytest.raises(DecompressionError) as info:
        decompress("zstd", b"\x28\xb5\x2f\xfd" + bytes(20), "'s.zstd' (shard 7)", max_size=4096)
    assert str(info.value) == (
        "Could not decompress 's.zstd' (shard 7) as 'zstd': out of memory (MemoryError) while "
        "producing up to 4096 bytes from 24 compressed bytes. Free memory, or check that "
        "index.json's raw size for this file is right."
    )
