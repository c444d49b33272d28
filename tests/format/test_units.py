"""Byte sizes, compression strings and hash names, as users write them."""

from __future__ import annotations

import bz2
import gzip
import hashlib

import pytest
import xxhash

from streaming.format.compression import (
    compress,
    decompress,
    get_compression_extension,
    get_compressions,
    is_compression,
    parse_compression,
)
from streaming.format.hashing import get_hash, get_hashes, hash_chunks, is_hash
from streaming.format.sizes import bytes_to_int, number_abbrev_to_int


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (1234, 1234),
        ("100", 100),
        ("100b", 100),
        ("1kb", 1024),
        ("64mb", 64 << 20),
        ("64MB", 64 << 20),
        (" 2 gb ", 2 << 30),
        ("1.5kb", 1536),
        ("1.1kb", 1126),  # truncated, as mosaicml-streaming does
        ("1tb", 1 << 40),
        (2.0, 2),
    ],
)
def test_bytes_to_int(text: object, value: int) -> None:
    assert bytes_to_int(text) == value


@pytest.mark.parametrize("text", ["", "mb", "64 furlongs", "-3kb", "1e3", True])
def test_bytes_to_int_refuses(text: object) -> None:
    with pytest.raises(ValueError, match="Invalid byte size"):
        bytes_to_int(text)


@pytest.mark.parametrize(
    ("text", "value"), [(7, 7), ("100", 100), ("100k", 100_000), ("2.5m", 2_500_000), ("1b", 10**9)]
)
def test_number_abbrev_to_int(text: object, value: int) -> None:
    assert number_abbrev_to_int(text) == value


@pytest.mark.parametrize("text", ["k", "10x", "1.0001k", False])
def test_number_abbrev_refuses(text: object) -> None:
    with pytest.raises(ValueError, match="Invalid count"):
        number_abbrev_to_int(text)


def test_compression_names() -> None:
    names = get_compressions()
    assert {"br", "br:0", "br:11", "bz2", "bz2:1", "bz2:9", "gz", "gz:0", "gz:9"} <= names
    assert {"snappy", "zstd", "zstd:1", "zstd:22"} <= names
    assert not {"br:12", "bz2:0", "gz:10", "snappy:1", "zstd:0", "zstd:23", "snap"} & names
    assert parse_compression("zstd") == ("zstd", 3)
    assert parse_compression("br") == ("br", 11)
    assert parse_compression("gz") == ("gz", 9)
    assert parse_compression("bz2:4") == ("bz2", 4)
    assert get_compression_extension("zstd:7") == "zstd"
    assert get_compression_extension("snappy") == "snappy"
    assert is_compression(None) and not is_compression("lz4")


@pytest.mark.parametrize(
    ("algo", "message"),
    [("lz4", "Unknown compression"), ("zstd:99", "levels 1 to 22"), ("snappy:3", "takes no level")],
)
def test_bad_compression_strings(algo: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compress(algo, b"x")


@pytest.mark.parametrize("algo", sorted(get_compressions()))
def test_compression_round_trip(algo: str) -> None:
    data = b"streaming " * 500 + bytes(range(256))
    assert decompress(algo, compress(algo, data)) == data


def test_compression_matches_the_reference_codecs() -> None:
    data = b"abc" * 1000
    assert compress("bz2:3", data) == bz2.compress(data, 3)
    assert gzip.decompress(compress("gz", data)) == data
    assert compress("zstd", data)[:4] == bytes.fromhex("28b52ffd")  # a standard zstd frame


def test_hash_names_and_digests() -> None:
    names = get_hashes()
    assert {"md5", "sha1", "sha256", "blake2b", "sha3_256", "xxh32", "xxh64", "xxh3_64"} <= names
    assert {"xxh128", "xxh3_128"} <= names
    assert not any(name.startswith("shake_") for name in names)
    assert get_hash("sha1", b"abc") == "a9993e364706816aba3e25717850c26c9cd0d89d"
    assert get_hash("md5", b"") == hashlib.md5(b"").hexdigest()
    assert get_hash("xxh64", b"abc") == xxhash.xxh64(b"abc").hexdigest()
    assert is_hash("xxh3_64") and not is_hash("crc32")
    with pytest.raises(ValueError, match="Unknown hash algorithm 'crc32'"):
        get_hash("crc32", b"")


@pytest.mark.parametrize("algo", sorted(get_hashes()))
def test_hash_chunks_equals_hash_of_the_whole(algo: str) -> None:
    chunks = [b"a" * 10, b"", b"bc" * 1000, bytes(range(256))]
    assert hash_chunks(algo, chunks) == get_hash(algo, b"".join(chunks))
