"""Shard compression: `br`, `bz2`, `gz`, `snappy` and `zstd`, each with mosaicml-streaming's level syntax.

A compression string is a family name, optionally with a level: ``"zstd"``, ``"zstd:7"``,
``"br:11"``. The family is also the file extension of the compressed shard
(``shard.00000.mds.zstd``). Output is byte-identical to the peer's for the same input and
level (gz aside: gzip embeds the current time).
"""

from __future__ import annotations

import bz2
import gzip
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from streaming.format.errors import DecompressionError


@dataclass(frozen=True)
class _Family:
    levels: range | None  # None: the family takes no level.
    default: int | None
    compress: Callable[[bytes, int | None], bytes]
    decompress: Callable[[bytes], bytes]


def _zstd_compress(data: bytes, level: int | None) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor(level=level).compress(data)


def _zstd_decompress(data: bytes) -> bytes:
    import zstandard

    # A frame may omit its content size (other writers), so stream rather than one-shot.
    dctx = zstandard.ZstdDecompressor()
    out = dctx.decompressobj().decompress(data)
    return out


def _br_compress(data: bytes, level: int | None) -> bytes:
    import brotli

    return brotli.compress(data, quality=level)


def _br_decompress(data: bytes) -> bytes:
    import brotli

    return brotli.decompress(data)


def _snappy_compress(data: bytes, level: int | None) -> bytes:
    import snappy

    return snappy.compress(data)


def _snappy_decompress(data: bytes) -> bytes:
    import snappy

    return snappy.decompress(data)


_FAMILIES: dict[str, _Family] = {
    "br": _Family(range(0, 12), 11, _br_compress, _br_decompress),
    "bz2": _Family(range(1, 10), 9, lambda d, lvl: bz2.compress(d, lvl), bz2.decompress),
    "gz": _Family(range(0, 10), 9, lambda d, lvl: gzip.compress(d, lvl), gzip.decompress),
    "snappy": _Family(None, None, _snappy_compress, _snappy_decompress),
    "zstd": _Family(range(1, 23), 3, _zstd_compress, _zstd_decompress),
}


def get_compressions() -> set[str]:
    """Every accepted compression string, with and without levels."""
    names = set()
    for family, spec in _FAMILIES.items():
        names.add(family)
        for level in spec.levels or ():
            names.add(f"{family}:{level}")
    return names


def parse_compression(algo: str) -> tuple[str, int | None]:
    """Split ``"zstd:7"`` into ``("zstd", 7)``, applying the family's default level.

    Raises `ValueError` naming the accepted forms if the string is unknown.
    """
    family, _, level_str = algo.partition(":")
    spec = _FAMILIES.get(family)
    if spec is None:
        raise ValueError(
            f"Unknown compression {algo!r}: expected one of {sorted(_FAMILIES)}, "
            "optionally with a level such as 'zstd:7'"
        )
    if not level_str:
        return family, spec.default
    if spec.levels is None:
        raise ValueError(f"Compression {family!r} takes no level, but got {algo!r}")
    if not level_str.isdigit() or int(level_str) not in spec.levels:
        raise ValueError(
            f"Invalid level in compression {algo!r}: {family} takes levels "
            f"{spec.levels.start} to {spec.levels.stop - 1}"
        )
    return family, int(level_str)


def is_compression(algo: str | None) -> bool:
    """Whether `algo` is None (no compression) or an accepted compression string."""
    if algo is None:
        return True
    try:
        parse_compression(algo)
    except ValueError:
        return False
    return True


def get_compression_extension(algo: str) -> str:
    """The file extension of a compressed shard, which is the family name: ``"zstd:7"`` -> ``"zstd"``."""
    return parse_compression(algo)[0]


def compress(algo: str, data: bytes) -> bytes:
    """Compress `data` with `algo` (``"zstd"``, ``"br:5"``, ...)."""
    family, level = parse_compression(algo)
    return _FAMILIES[family].compress(data, level)


def decompress(algo: str, data: bytes, what: str = "data") -> bytes:
    """Decompress `data`; a failure raises `DecompressionError` naming `what` (e.g. the file)."""
    family, _ = parse_compression(algo)
    try:
        return _FAMILIES[family].decompress(bytes(data))
    except (OSError, EOFError, ValueError, zlib.error, MemoryError, RuntimeError) as err:
        raise DecompressionError(
            f"Could not decompress {what} as {family!r}: {err}. The file is corrupt or was "
            "written with another compression than index.json records."
        ) from err
    except Exception as err:  # codec libraries raise their own error types
        if type(err).__module__.split(".")[0] in {"zstandard", "brotli", "snappy", "cramjam"}:
            raise DecompressionError(
                f"Could not decompress {what} as {family!r}: {err}. The file is corrupt or "
                "was written with another compression than index.json records."
            ) from err
        raise
