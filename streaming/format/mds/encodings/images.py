"""PIL images: ``pil`` (raw pixels), ``jpeg``, ``png``, lists of those, and ``jpeg_array``.

Decoding calls into PIL, which raises many types on corrupt data; every one becomes an
`EncodingError`. ``jpeg`` and ``png`` decode lazily with ``Image.open``, as the peer does, so a
truncated image body fails only when its pixels are read.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from io import BytesIO
from typing import Any

from PIL import Image, ImageMode
from PIL.JpegImagePlugin import JpegImageFile

from streaming.format.errors import EncodingError
from streaming.format.mds.encodings.base import Coder, bad_data, passing_bytes, wrong_type

_PIL_HEADER = struct.Struct("<3I")  # width, height, len(mode)
_UINT32 = struct.Struct("<I")


def _check_image(encoding: str, obj: Any) -> None:
    if not isinstance(obj, Image.Image):
        raise wrong_type(encoding, "a PIL.Image.Image", obj)


def _encode_pil(obj: Any) -> bytes:
    _check_image("pil", obj)
    mode = obj.mode.encode("utf-8")
    try:
        raw = obj.tobytes()
    except Exception as err:  # a lazily opened file may be truncated or missing
        raise EncodingError(f"Encoding 'pil' cannot read the image's pixels: {err}") from err
    return _PIL_HEADER.pack(obj.width, obj.height, len(mode)) + mode + raw


def _raw_size(mode: str, width: int, height: int) -> int:
    """The bytes of ``Image.tobytes()`` for an image of this mode and size."""
    info = ImageMode.getmode(mode)  # KeyError if unknown
    if mode == "1":
        return (width + 7) // 8 * height
    return width * height * len(info.bands) * int(info.typestr[-1])


def _decode_pil(data: bytes | memoryview) -> Image.Image:
    if len(data) < _PIL_HEADER.size:
        raise bad_data("pil", f"{len(data)} bytes cannot hold the 12-byte header")
    width, height, mode_len = _PIL_HEADER.unpack_from(data)
    raw_start = _PIL_HEADER.size + mode_len
    if len(data) < raw_start:
        raise bad_data("pil", f"{len(data)} bytes cannot hold a {mode_len}-byte mode name")
    view = memoryview(data)
    try:
        mode = str(view[_PIL_HEADER.size : raw_start], "utf-8")
        needed = _raw_size(mode, width, height)
    except (UnicodeDecodeError, KeyError, ValueError):
        raise bad_data("pil", f"unknown image mode {bytes(view[12:raw_start])!r:.80}") from None
    # Checked before PIL allocates width * height pixels; PIL itself ignores extra bytes.
    if len(data) - raw_start < needed:
        raise bad_data(
            "pil",
            f"a {width}x{height} {mode} image needs {needed} bytes of pixels, "
            f"but got {len(data) - raw_start}",
        )
    if needed == 0 and max(width, height) > 0xFFFF:
        # PIL still allocates a row table for an image with no pixels: bound it.
        raise bad_data("pil", f"a {width}x{height} image (no pixels, but a huge side)")
    try:
        return Image.frombytes(mode, (width, height), view[raw_start:])
    except Exception as err:
        raise bad_data("pil", f"{type(err).__name__}: {err}") from err


def _save(encoding: str, obj: Any, fmt: str) -> bytes:
    _check_image(encoding, obj)
    out = BytesIO()
    try:
        obj.save(out, format=fmt)
    except Exception as err:  # e.g. "cannot write mode RGBA as JPEG"
        raise EncodingError(f"Encoding {encoding!r} cannot save the image: {err}") from err
    return out.getvalue()


def _encode_jpeg(obj: Any) -> bytes:
    # A JPEG opened from a file is stored as that file's bytes, untouched (the peer does this
    # even if the image was changed in memory since).
    if isinstance(obj, JpegImageFile) and getattr(obj, "filename", None):
        try:
            with open(obj.filename, "rb") as f:
                return f.read()
        except OSError:
            pass
    return _save("jpeg", obj, "JPEG")


def _encode_png(obj: Any) -> bytes:
    return _save("png", obj, "PNG")


def _open(encoding: str) -> Callable[[bytes | memoryview], Image.Image]:
    def decode(data: bytes | memoryview) -> Image.Image:
        try:
            return Image.open(BytesIO(data))
        except Exception as err:
            raise bad_data(encoding, f"{type(err).__name__}: {err}") from err

    return decode


def _sizes(encoding: str, data: bytes | memoryview, count_at: int) -> tuple[int, tuple[int, ...]]:
    """Read ``[uint32 n][n x uint32 sizes]`` at `count_at`; return (values start, sizes)."""
    if len(data) < count_at + 4:
        raise bad_data(encoding, f"{len(data)} bytes cannot hold the header")
    (count,) = _UINT32.unpack_from(data, count_at)
    start = count_at + 4 + 4 * count
    if len(data) < start:
        raise bad_data(encoding, f"{len(data)} bytes cannot hold the sizes of {count} elements")
    sizes = struct.unpack_from(f"<{count}I", data, count_at + 4)
    if sum(sizes) != len(data) - start:
        raise bad_data(
            encoding,
            f"the elements' sizes add up to {sum(sizes)} bytes, but {len(data) - start} follow",
        )
    return start, sizes


def _split(data: bytes | memoryview, start: int, sizes: tuple[int, ...]) -> list[memoryview]:
    view = memoryview(data)
    parts = []
    for size in sizes:
        parts.append(view[start : start + size])
        start += size
    return parts


def _header(encoding: str, counts: Sequence[int]) -> bytes:
    try:
        return struct.pack(f"<{len(counts)}I", *counts)
    except struct.error:
        raise EncodingError(f"Encoding {encoding!r} holds elements below 4 GiB") from None


def _list_coder(name: str, encode_one: Callable, decode_one: Callable) -> Coder:
    encoding = f"list[{name}]"

    def encode(obj: Any) -> bytes:
        if not isinstance(obj, list):
            raise wrong_type(encoding, f"a list of PIL images (to store as {name})", obj)
        parts = []
        for i, item in enumerate(obj):
            try:
                parts.append(encode_one(item))
            except EncodingError as err:
                raise EncodingError(f"Encoding {encoding!r}, element {i}: {err}") from err
        # A uint32 placeholder (always 0) comes first.
        return _header(encoding, [0, len(parts), *map(len, parts)]) + b"".join(parts)

    def decode(data: bytes | memoryview) -> list[Image.Image]:
        start, sizes = _sizes(encoding, data, 4)
        return [decode_one(part) for part in _split(data, start, sizes)]

    return Coder(encoding, passing_bytes(encode), decode)


def _jpeg_array_coder(encoding: str) -> Coder:
    """``jpeg_array``: encodes JPEG *bytes* (not images) and decodes to PIL images."""
    decode_one = _open(encoding)

    def encode(obj: Any) -> bytes:
        if not isinstance(obj, Sequence) or isinstance(obj, (str, bytearray, memoryview)):
            raise wrong_type(encoding, "a sequence of JPEG bytes", obj)
        parts = []
        for i, item in enumerate(obj):
            if not isinstance(item, (bytes, bytearray, memoryview)):
                raise EncodingError(
                    f"Encoding {encoding!r} expects a sequence of JPEG bytes, but element {i} "
                    f"is {type(item).__name__}"
                )
            parts.append(bytes(item))
        return _header(encoding, [len(parts), *map(len, parts)]) + b"".join(parts)

    def decode(data: bytes | memoryview) -> list[Image.Image]:
        start, sizes = _sizes(encoding, data, 0)
        if not sizes:
            raise bad_data(encoding, "it holds no images (the peer refuses this too)")
        return [decode_one(part) for part in _split(data, start, sizes)]

    return Coder(encoding, passing_bytes(encode), decode)


def image_coder(name: str) -> Coder:
    """The coder of image encoding `name`: pil, jpeg, png, list[...] of those, jpeg_array."""
    decode_jpeg, decode_png = _open("jpeg"), _open("png")
    if name == "pil":
        return Coder(name, passing_bytes(_encode_pil), _decode_pil)
    if name == "jpeg":
        return Coder(name, passing_bytes(_encode_jpeg), decode_jpeg)
    if name == "png":
        return Coder(name, passing_bytes(_encode_png), decode_png)
    if name == "list[pil]":
        return _list_coder("pil", _encode_pil, _decode_pil)
    if name == "list[jpeg]":
        return _list_coder("jpeg", _encode_jpeg, decode_jpeg)
    if name == "list[png]":
        return _list_coder("png", _encode_png, decode_png)
    if name in ("jpeg_array", "jpegarray"):
        return _jpeg_array_coder(name)
    raise KeyError(name)
