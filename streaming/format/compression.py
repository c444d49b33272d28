"""Shard compression: `br`, `bz2`, `gz`, `snappy` and `zstd`, with mosaicml-streaming's levels.

A compression string is a family name, optionally with a level: ``"zstd"``, ``"zstd:7"``,
``"br:11"``. The family is also the file extension of the compressed shard
(``shard.00000.mds.zstd``). Output is byte-identical to the peer's for the same input and
level (gz aside: gzip embeds the current time).
"""

from __future__ import annotations

import bz2
import gzip
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from streaming.format.errors import DecompressionError


@dataclass(frozen=True)
class _Family:
    levels: range | None  # None: the family takes no level.
    default: int | None
    compress: Callable[[bytes, int | None], bytes]
    # decompress(data, max_size): the raw bytes; more than max_size of them (if not None)
    # raises _TooLarge as soon as that is known, without producing much more.
    decompress: Callable[[bytes, int | None], bytes]


class _TooLarge(Exception):
    """Raised by a family's decompress when the output would pass `max_size`."""


class _Truncated(Exception):
    """Raised by a family's decompress when the stream ends before its end marker."""


def _zstd_compress(data: bytes, level: int | None) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor(level=level).compress(data)


def _zstd_decompress(data: bytes, max_size: int | None) -> bytes:
    import zstandard

    # Only the first frame is read and trailing bytes are ignored, as before.
    dctx = zstandard.ZstdDecompressor()
    if max_size is None:
        # A frame may omit its content size (other writers), so stream rather than one-shot.
        dobj = dctx.decompressobj()
        out = dobj.decompress(data)
        if not dobj.eof:
            raise _Truncated("the frame ends early")
        return out
    declared = zstandard.frame_content_size(data)  # -1 when the frame omits it
    if declared > max_size:
        raise _TooLarge(f"its frame header declares {declared} bytes")
    # One shot: one buffer of the declared size, or of max_size + 1 at most when undeclared.
    try:
        return dctx.decompress(data, max_output_size=max_size + 1)
    except zstandard.ZstdError:
        # Past max_size and a truncated frame fail alike; tell them apart, within max_size + 1.
        if declared < 0 and len(dctx.stream_reader(data).read(max_size + 1)) > max_size:
            raise _TooLarge(f"it produced more than {max_size} bytes") from None
        raise


def _br_compress(data: bytes, level: int | None) -> bytes:
    import brotli

    return brotli.compress(data, quality=level)


_BR_STEP = 1 << 20  # brotli's output can pass its limit by up to about the limit again


def _br_decompress(data: bytes, max_size: int | None) -> bytes:
    import brotli

    if max_size is None:
        return brotli.decompress(data)
    # Brotli stops growing its output buffer at `output_buffer_limit` but may pass it by about
    # as much again, so the limit is fed in steps: at most max_size + 1 + ~1 MiB is produced.
    dec = brotli.Decompressor()
    parts = []
    total = 0
    out = dec.process(data, output_buffer_limit=min(_BR_STEP, max_size + 1))
    while True:
        parts.append(out)
        total += len(out)
        if total > max_size:
            raise _TooLarge(f"it produced more than {max_size} bytes")
        if dec.is_finished():
            break
        if not out:  # all the input was given at once: no output now means none to come
            raise _Truncated("the stream ends early")
        out = dec.process(b"", output_buffer_limit=min(_BR_STEP, max_size + 1 - total))
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _snappy_compress(data: bytes, level: int | None) -> bytes:
    import snappy

    return snappy.compress(data)


def _snappy_length(data: bytes) -> int:
    """The uncompressed length that a raw snappy block declares: a leading varint."""
    length = 0
    for i, byte in enumerate(data[:5]):
        length |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return length
    raise _Truncated("no valid length varint at the start")


def _snappy_decompress(data: bytes, max_size: int | None) -> bytes:
    import snappy

    if max_size is not None:
        # The block declares its length first and decoding fails unless it matches exactly.
        declared = _snappy_length(data)
        if declared > max_size:
            raise _TooLarge(f"it declares {declared} bytes")
    return snappy.decompress(data)


def _gz_decompress(data: bytes, max_size: int | None) -> bytes:
    if max_size is None:
        return gzip.decompress(data)
    # As gzip.decompress: members one after another, zero padding between or after them.
    view = memoryview(data)
    parts = []
    total = 0
    while view:
        dobj = zlib.decompressobj(wbits=31)  # gzip header and trailer, CRC and length checked
        out = dobj.decompress(view, max_size + 1 - total)
        parts.append(out)
        total += len(out)
        if total > max_size:
            raise _TooLarge(f"it produced more than {max_size} bytes")
        if not dobj.eof:
            raise _Truncated("a gzip member ends early")
        view = memoryview(dobj.unused_data.lstrip(b"\0"))
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _bz2_decompress(data: bytes, max_size: int | None) -> bytes:
    if max_size is None:
        return bz2.decompress(data)
    # As bz2.decompress: streams one after another; bytes after the first stream that do not
    # start a valid stream are ignored.
    parts: list[bytes] = []
    total = 0
    while data:
        dobj = bz2.BZ2Decompressor()
        try:
            out = dobj.decompress(data, max_size + 1 - total)
        except OSError:
            if parts:
                break
            raise
        parts.append(out)
        total += len(out)
        if total > max_size:
            raise _TooLarge(f"it produced more than {max_size} bytes")
        if not dobj.eof:
            raise _Truncated("a bzip2 stream ends early")
        data = dobj.unused_data
    return b"".join(parts)


_FAMILIES: dict[str, _Family] = {
    "br": _Family(range(0, 12), 11, _br_compress, _br_decompress),
    "bz2": _Family(range(1, 10), 9, lambda d, lvl: bz2.compress(d, lvl), _bz2_decompress),
    "gz": _Family(range(0, 10), 9, lambda d, lvl: gzip.compress(d, lvl), _gz_decompress),
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
    """The extension of a compressed shard: the family name (``"zstd:7"`` -> ``"zstd"``)."""
    return parse_compression(algo)[0]


def compress(algo: str | None, data: bytes) -> bytes:
    """Compress `data` with `algo` (``"zstd"``, ``"br:5"``, ...); None returns `data` as is."""
    if algo is None:
        return data
    family, level = parse_compression(algo)
    return _FAMILIES[family].compress(data, level)


def decompress(
    algo: str | None, data: bytes, what: str = "data", max_size: int | None = None
) -> bytes:
    """Decompress `data`; a failure raises `DecompressionError` naming `what` (e.g. the file).
    With `algo` None, `data` is returned as is (as the peer does).

    With `max_size` (the raw size that index.json records), output past it fails as soon as it
    is seen, so a corrupt or hostile file cannot make us allocate much more than `max_size`
    (brotli may overshoot by about 1 MiB before the check; the others by at most one byte).
    """
    if algo is None:
        return data
    family, _ = parse_compression(algo)
    if not isinstance(data, bytes):
        data = bytes(data)
    if max_size is not None:
        max_size = min(max_size, sys.maxsize - 1)  # the codecs take a C ssize_t
    try:
        return _FAMILIES[family].decompress(data, max_size)
    except MemoryError:
        raise DecompressionError(
            f"Could not decompress {what} as {family!r}: out of memory (MemoryError) while "
            f"producing up to {max_size if max_size is not None else 'an unbounded number of'} "
            f"bytes from {len(data)} compressed bytes. Free memory, or check that index.json's "
            "raw size for this file is right."
        ) from None
    except _TooLarge as err:
        raise DecompressionError(
            f"Could not decompress {what} as {family!r}: {err}, but index.json records "
            f"{max_size} bytes. The file is corrupt or stale."
        ) from None
    except _DECODE_ERRORS as err:
        raise _failed(family, what, err) from err
    except Exception as err:  # codec libraries raise their own error types
        if type(err).__module__.split(".")[0] in _CODEC_MODULES:
            raise _failed(family, what, err) from err
        raise


_CODEC_MODULES = {"zstandard", "brotli", "snappy", "cramjam"}
_DECODE_ERRORS = (_Truncated, OSError, EOFError, ValueError, zlib.error, RuntimeError)


def _failed(family: str, what: str, err: BaseException) -> DecompressionError:
    return DecompressionError(
        f"Could not decompress {what} as {family!r}: {err}. The file is corrupt or truncated, "
        "or was written with another compression than index.json records."
    )
