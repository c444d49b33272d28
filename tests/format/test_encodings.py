"""MDS column encodings: golden bytes, round trips, properties, fuzzing and error messages."""

from __future__ import annotations

import json
import math
import pickle
import struct
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from streaming.format.errors import EncodingError, FormatError
from streaming.format.mds.encodings import (
    get_coder,
    get_mds_encoded_size,
    get_mds_encodings,
    is_mds_encoding,
    is_mds_encoding_safe,
    mds_decode,
    mds_encode,
)
from streaming.format.mds.encodings.ndarray import DTYPE_CODES, _shape_header

DTYPES = list(DTYPE_CODES)
NUMPY_SCALARS = ["uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64"]
NUMPY_SCALARS += ["float16", "float32", "float64"]


def _image(mode: str, size: tuple[int, int] = (5, 3)) -> Image.Image:
    """A deterministic, non-uniform image, so that pixel comparisons mean something."""
    rng = np.random.default_rng(0)
    base = Image.new(mode, size)
    raw = rng.integers(0, 256, len(base.tobytes()), dtype=np.uint8).tobytes()
    if mode == "F":  # random bytes would make NaNs, which compare unequal
        raw = rng.random(size[0] * size[1], dtype=np.float32).tobytes()
    return Image.frombytes(mode, size, raw)


def _jpeg_bytes(color: tuple[int, int, int] = (200, 30, 60), quality: int = 75) -> bytes:
    out = BytesIO()
    Image.new("RGB", (8, 6), color).save(out, format="JPEG", quality=quality)
    return out.getvalue()


# --- names, sizes and parsing ----------------------------------------------------------------


def test_encoding_names() -> None:
    assert get_mds_encodings() == {
        *("bytes", "str", "int", *NUMPY_SCALARS, "str_int", "str_float", "str_decimal"),
        *("ndarray", "pil", "jpeg", "png", "list[pil]", "list[jpeg]", "list[png]"),
        *("jpeg_array", "jpegarray", "pkl", "json"),
    }


@pytest.mark.parametrize(
    "encoding, size",
    [
        ("bytes", None),
        ("str", None),
        ("int", 8),
        ("uint8", 1),
        ("int8", 1),
        ("uint16", 2),
        ("int16", 2),
        ("float16", 2),
        ("uint32", 4),
        ("int32", 4),
        ("float32", 4),
        ("uint64", 8),
        ("int64", 8),
        ("float64", 8),
        ("str_int", None),
        ("ndarray", None),
        ("ndarray:", None),
        ("ndarray:uint8", None),
        ("ndarray:uint8:2", 2),
        ("ndarray:float64:32,32,3", 24576),
        ("ndarray:int16:2,3", 12),
        ("ndarray:uint8: 3", 3),  # int() parsing, as the peer
        ("ndarray:uint8:+3,1_0", 30),
        ("pil", None),
        ("jpeg_array", None),
        ("pkl", None),
        ("json", None),
    ],
)
def test_encoded_size(encoding: str, size: int | None) -> None:
    assert is_mds_encoding(encoding) is True
    assert get_mds_encoded_size(encoding) == size
    assert get_coder(encoding).size == size


@pytest.mark.parametrize(
    "encoding, message",
    [
        ("foo", "Unknown MDS encoding 'foo'"),
        ("list[int]", "Unknown MDS encoding 'list[int]'"),
        ("Int", "Unknown MDS encoding 'Int'"),
        ("foo:bar", "Unknown MDS encoding 'foo:bar'"),
        ("int:3", "only 'ndarray' takes parameters"),
        ("jpeg:95", "only 'ndarray' takes parameters"),
        ("ndarray:bool", "dtype 'bool' is not one of"),
        ("ndarray::3", "dtype '' is not one of"),
        ("ndarray:uint8:", "the shape '' must be"),
        ("ndarray:uint8:0", "the shape '0' must be"),
        ("ndarray:uint8:3,-1", "the shape '3,-1' must be"),
        ("ndarray:uint8:3,", "the shape '3,' must be"),
        ("ndarray:uint8:x", "the shape 'x' must be"),
        ("ndarray:uint8:2:3", "expected 'ndarray', 'ndarray:<dtype>'"),
    ],
)
def test_bad_encoding_strings(encoding: str, message: str) -> None:
    assert is_mds_encoding(encoding) is False
    with pytest.raises(EncodingError, match=message.replace("[", r"\[")):
        get_coder(encoding)
    with pytest.raises(EncodingError, match="encoding"):
        get_mds_encoded_size(encoding)
    with pytest.raises(EncodingError):
        mds_encode(encoding, 1)
    with pytest.raises(EncodingError):
        mds_decode(encoding, b"\x00" * 8)


def test_non_str_encoding() -> None:
    assert is_mds_encoding(None) is False  # type: ignore[arg-type]
    assert is_mds_encoding(["int"]) is False  # type: ignore[arg-type]
    with pytest.raises(EncodingError, match="An encoding is a str, but got int"):
        get_coder(3)  # type: ignore[arg-type]


def test_safety() -> None:
    assert is_mds_encoding_safe("pkl") is False
    assert get_coder("pkl").safe is False
    for name in get_mds_encodings() - {"pkl"}:
        assert is_mds_encoding_safe(name) is True
        assert get_coder(name).safe is True
    assert is_mds_encoding_safe("ndarray:uint8:2") is True


def test_coders_are_cached() -> None:
    assert get_coder("int") is get_coder("int")
    assert get_coder("ndarray:uint8:2") is get_coder("ndarray:uint8:2")
    assert get_coder("ndarray") is not get_coder("ndarray:")
    assert repr(get_coder("ndarray:uint8:2")) == "Coder('ndarray:uint8:2', size=2, safe=True)"


# --- golden bytes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoding, value, hexed",
    [
        ("bytes", b"\x00\xff", "00ff"),
        ("str", "ab", "6162"),
        ("str", "é✓", "c3a9e29c93"),
        ("int", 1, "0100000000000000"),
        ("int", -2, "feffffffffffffff"),
        ("int", 2**63 - 1, "ffffffffffffff7f"),
        ("int", -(2**63), "0000000000000080"),
        ("int", True, "0100000000000000"),  # the peer accepts bool (an int subclass)
        ("uint8", 42, "2a"),
        ("uint8", 255, "ff"),
        ("int8", -1, "ff"),
        ("uint16", 8, "0800"),
        ("int16", -2, "feff"),
        ("uint32", 0x01020304, "04030201"),
        ("int32", -1, "ffffffff"),
        ("uint64", 2**64 - 1, "ffffffffffffffff"),
        ("int64", 42, "2a00000000000000"),
        ("float16", 1.0, "003c"),
        ("float16", -2.0, "00c0"),
        ("float32", 42.0, "00002842"),
        ("float32", "1.5", "0000c03f"),  # numpy.float32("1.5"), as the peer
        ("float64", 1.0, "000000000000f03f"),
        ("float64", np.float32(0.5), "000000000000e03f"),
        ("uint8", np.int64(-1), "ff"),  # numpy's wrap-around cast, as the peer
        ("str_int", 12, "3132"),
        ("str_int", -(10**20), "2d313030303030303030303030303030303030303030"),
        ("str_int", True, "54727565"),  # 'True': the peer's quirk; it cannot decode it
        ("str_float", 1.5, "312e35"),
        ("str_float", np.float64(2.5), "322e35"),
        ("str_decimal", Decimal("1.10"), "312e3130"),
        ("ndarray", np.array([[0, 1]], np.int16), "1108010200000100"),  # spec section 4
        ("ndarray:uint8:2", np.array([1, 254], np.uint8), "01fe"),  # spec section 4
        ("ndarray:int16", np.array([[0, 1]], np.int16), "08010200000100"),
        ("ndarray", np.array([7], np.uint8), "08040107"),
        ("ndarray", np.zeros(256, np.uint8)[:1].repeat(256), "08050001" + "00" * 256),
        ("ndarray:float32:1", np.array([42.0], np.float32), "00002842"),
        ("ndarray:float32:1", np.array([42.0], ">f4"), "00002842"),  # written little-endian
        ("ndarray", np.array([1], ">u2"), "1004010100"),
        ("json", {"a": [1, 2.5, None]}, "7b2261223a205b312c20322e352c206e756c6c5d7d"),
        ("json", np.array([[1, 2]]), "5b5b312c20325d5d"),
        ("json", "é", "225c753030653922"),  # ensure_ascii: "\u00e9"
    ],
)
def test_golden_bytes(encoding: str, value: object, hexed: str) -> None:
    assert mds_encode(encoding, value).hex() == hexed
    assert get_coder(encoding).encode(value).hex() == hexed


def test_shape_header_widths() -> None:
    assert _shape_header("ndarray", (255, 1)) == bytes([8 | 0, 255, 1])
    assert _shape_header("ndarray", (256,)) == bytes([4 | 1]) + struct.pack("<H", 256)
    assert _shape_header("ndarray", (3, 65536)) == bytes([8 | 2]) + struct.pack("<2I", 3, 65536)
    assert _shape_header("ndarray", (2**32,)) == bytes([4 | 3]) + struct.pack("<Q", 2**32)
    assert _shape_header("ndarray", (1,) * 63) == bytes([63 << 2]) + b"\x01" * 63


def test_uint32_shape_round_trip() -> None:
    arr = np.arange(65536, dtype=np.uint8).reshape(1, 65536)
    data = mds_encode("ndarray:uint8", arr)
    assert data[:9] == bytes([8 | 2]) + struct.pack("<2I", 1, 65536)
    assert len(data) == 9 + 65536
    np.testing.assert_array_equal(mds_decode("ndarray:uint8", data), arr)


def test_sixty_three_dims_round_trip() -> None:
    arr = np.arange(2, dtype=np.int32).reshape((2,) + (1,) * 62)
    out = mds_decode("ndarray", mds_encode("ndarray", arr))
    assert out.shape == arr.shape and out.dtype == np.int32
    np.testing.assert_array_equal(out, arr)


def test_pil_golden() -> None:
    img = Image.frombytes("L", (2, 1), b"\x01\x02")
    data = mds_encode("pil", img)
    assert data == struct.pack("<3I", 2, 1, 1) + b"L" + b"\x01\x02"


def test_list_golden() -> None:
    a = Image.frombytes("L", (1, 1), b"\x07")
    b = Image.frombytes("RGB", (1, 1), b"\x01\x02\x03")
    pa, pb = mds_encode("pil", a), mds_encode("pil", b)
    assert len(pa) == 14 and len(pb) == 18
    data = mds_encode("list[pil]", [a, b])
    assert data == struct.pack("<4I", 0, 2, 14, 18) + pa + pb
    assert mds_encode("list[png]", []) == b"\x00" * 8
    assert mds_decode("list[png]", b"\x00" * 8) == []


@pytest.mark.parametrize("encoding", ["jpeg_array", "jpegarray"])
def test_jpeg_array_golden(encoding: str) -> None:
    one, two = _jpeg_bytes(), _jpeg_bytes((0, 0, 255))
    data = mds_encode(encoding, [one, bytearray(two)])
    assert data == struct.pack("<3I", 2, len(one), len(two)) + one + two
    assert mds_encode(encoding, (one,)) == struct.pack("<2I", 1, len(one)) + one
    assert mds_encode(encoding, []) == b"\x00\x00\x00\x00"  # written, as by the peer...
    with pytest.raises(EncodingError, match=f"Cannot decode '{encoding}' data: it holds no"):
        mds_decode(encoding, b"\x00\x00\x00\x00")  # ...but refused on reading
    images = mds_decode(encoding, data)
    assert [img.format for img in images] == ["JPEG", "JPEG"]
    assert [img.size for img in images] == [(8, 6), (8, 6)]
    assert images[1].getpixel((4, 3))[2] > 200  # blue


def test_pkl_golden() -> None:
    value = {"a": (1, 2.5), "b": [b"x", None]}
    assert mds_encode("pkl", value) == pickle.dumps(value)
    assert mds_decode("pkl", pickle.dumps(value)) == value


# --- pass-through and round trips ------------------------------------------------------------


# Pre-encoded bytes are checked by decoding them where that is safe and cheap.
CHECKED = {"str", "str_int", "str_float", "str_decimal", "json", "ndarray"}


@pytest.mark.parametrize("encoding", sorted(get_mds_encodings() - CHECKED))
def test_bytes_pass_through(encoding: str) -> None:
    assert mds_encode(encoding, b"abc") == b"abc"
    assert get_coder(encoding).encode(b"") == b""


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        ("str", b"abc"),
        ("str", "é✓".encode()),
        ("str", b""),
        ("str_int", b"-12"),
        ("str_float", b"1.5"),
        ("str_decimal", b"1.10"),
        ("json", b'{"a": [1, null]}'),
        ("ndarray", bytes([8, 4, 3, 1, 2, 3])),  # uint8, one dim of 3 (uint8 shape), values
        ("ndarray:uint8:2", b"\x05\x06"),
    ],
)
def test_readable_bytes_pass_through(encoding: str, data: bytes) -> None:
    assert mds_encode(encoding, data) == data


@pytest.mark.parametrize(
    ("encoding", "data", "problem"),
    [
        ("str", b"ok\xff", "not UTF-8"),
        ("str_int", b"12a", "not a int in text"),
        ("str_int", b"", "not a int in text"),
        ("str_float", b"x", "not a float in text"),
        ("str_decimal", b"1..0", "not a Decimal in text"),
        ("json", b"abc", "Expecting value"),
        ("json", b"\xff", "can't decode byte 0xff"),
        ("ndarray", b"\x01", "unknown dtype byte 1"),
        ("ndarray:uint8:2", b"\x05", "needs 2 bytes"),
    ],
)
def test_unreadable_bytes_are_refused(encoding: str, data: bytes, problem: str) -> None:
    """The peer stores these as they are and fails only when they are read."""
    with pytest.raises(EncodingError) as info:
        mds_encode(encoding, data)
    assert problem in str(info.value)


ROUND_TRIPS = [
    ("bytes", b""),
    ("bytes", bytes(range(256))),
    ("str", ""),
    ("str", "héllo ✓ 🎉\x00"),
    ("int", 0),
    ("int", -(2**63)),
    ("int", 2**63 - 1),
    ("str_int", 0),
    ("str_int", -(10**100)),
    ("str_float", -0.0),
    ("str_float", 1e-300),
    ("str_float", 0.1 + 0.2),
    ("str_float", math.inf),
    ("str_decimal", Decimal("-1.000E-30")),
    ("str_decimal", Decimal("Infinity")),
    ("json", {"a": [1, "b", None, True, 2.5], "é": {}}),
    ("json", []),
    ("json", "x"),
    ("json", None),
    ("pkl", {"set": {1, 2}, "tuple": (b"x",), "dec": Decimal("1.5")}),
    ("pkl", None),
]


@pytest.mark.parametrize("encoding, value", ROUND_TRIPS)
def test_round_trip(encoding: str, value: object) -> None:
    data = mds_encode(encoding, value)
    for form in (data, memoryview(data), memoryview(b"junk" + data)[4:]):
        out = mds_decode(encoding, form)
        assert type(out) is type(value)
        assert out == value
        assert str(out) == str(value)  # -0.0 keeps its sign


def test_bytes_decode_copies_memoryview() -> None:
    out = mds_decode("bytes", memoryview(b"xxabc")[2:])
    assert type(out) is bytes and out == b"abc"
    data = b"abc"
    assert mds_decode("bytes", data) is data  # no copy for bytes


def test_int_decodes_to_python_int() -> None:
    out = mds_decode("int", mds_encode("int", -5))
    assert type(out) is int and out == -5
    assert mds_decode("int", memoryview(b"\xff" * 8)) == -1


@pytest.mark.parametrize("name", NUMPY_SCALARS)
def test_numpy_scalar_round_trip(name: str) -> None:
    info = np.finfo(name) if name.startswith("float") else np.iinfo(name)
    for value in (info.min, info.max, 0, 1):
        data = mds_encode(name, value)
        assert data == getattr(np, name)(value).tobytes()
        out = mds_decode(name, memoryview(data))
        assert type(out) is getattr(np, name)
        assert out == getattr(np, name)(value)


def test_float_scalars_keep_nan_and_inf() -> None:
    assert np.isnan(mds_decode("float16", mds_encode("float16", math.nan)))
    assert mds_decode("float32", mds_encode("float32", -math.inf)) == -np.inf


PIL_MODES = ["1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr"]
PIL_MODES += ["LAB", "HSV", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"]


@pytest.mark.parametrize("mode", PIL_MODES)
def test_pil_round_trip(mode: str) -> None:
    img = _image(mode, (7, 3))  # odd width: mode '1' pads its rows
    out = mds_decode("pil", memoryview(mds_encode("pil", img)))
    assert (out.mode, out.size, out.tobytes()) == (mode, (7, 3), img.tobytes())


def test_pil_empty_image_round_trip() -> None:
    out = mds_decode("pil", mds_encode("pil", Image.new("RGB", (0, 4))))
    assert (out.mode, out.size) == ("RGB", (0, 4))


@pytest.mark.parametrize("mode", ["1", "L", "LA", "RGB", "RGBA", "I;16"])
def test_png_round_trip(mode: str) -> None:
    img = _image(mode)
    data = mds_encode("png", img)
    expected = BytesIO()
    img.save(expected, format="PNG")
    assert data == expected.getvalue()
    out = mds_decode("png", data)
    assert out.format == "PNG"
    assert (out.mode, out.size, out.tobytes()) == (img.mode, img.size, img.tobytes())


@pytest.mark.parametrize("mode", ["L", "RGB", "CMYK"])
def test_jpeg_saves_at_default_quality(mode: str) -> None:
    img = _image(mode, (16, 16))
    expected = BytesIO()
    img.save(expected, format="JPEG")
    data = mds_encode("jpeg", img)
    assert data == expected.getvalue()
    out = mds_decode("jpeg", data)
    assert (out.format, out.mode, out.size) == ("JPEG", mode, (16, 16))
    assert out.tobytes() == Image.open(BytesIO(expected.getvalue())).tobytes()


def test_jpeg_keeps_the_original_file(tmp_path: Path) -> None:
    original = _jpeg_bytes(quality=95)
    path = tmp_path / "x.jpg"
    path.write_bytes(original)
    with Image.open(path) as img:
        assert mds_encode("jpeg", img) == original
        img.load()
        path.unlink()  # gone: fall back to saving at the default quality
        expected = BytesIO()
        img.save(expected, format="JPEG")
        assert mds_encode("jpeg", img) == expected.getvalue() != original


def test_image_lists_round_trip() -> None:
    images = [_image("RGB"), _image("L", (2, 9))]
    for encoding in ("list[pil]", "list[png]", "list[jpeg]"):
        out = mds_decode(encoding, mds_encode(encoding, images))
        assert [(i.mode, i.size) for i in out] == [("RGB", (5, 3)), ("L", (2, 9))]
        if encoding != "list[jpeg]":
            assert [i.tobytes() for i in out] == [i.tobytes() for i in images]


# --- ndarray properties ----------------------------------------------------------------------

_SHAPES = st.one_of(
    hnp.array_shapes(min_dims=1, max_dims=6, min_side=1, max_side=5),
    st.tuples(st.integers(1, 3), st.integers(250, 70_000)),
)


@st.composite
def _arrays(draw: st.DrawFn) -> np.ndarray:
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(_SHAPES)
    arr = draw(hnp.arrays(dtype, shape))
    order = draw(st.sampled_from(["C", "F", "big-endian", "strided"]))
    if order == "F":
        arr = np.asfortranarray(arr)
    elif order == "big-endian":
        arr = arr.astype(arr.dtype.newbyteorder(">"))
    elif order == "strided":
        arr = np.repeat(arr, 2, axis=0)[::2]
    return arr


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_arrays(), st.sampled_from([0, 1, 2]))
def test_ndarray_round_trip(arr: np.ndarray, form: int) -> None:
    name = arr.dtype.name
    encoding = ["ndarray", f"ndarray:{name}", f"ndarray:{name}:{','.join(map(str, arr.shape))}"]
    encoding = encoding[form]
    data = mds_encode(encoding, arr)
    values = np.ascontiguousarray(arr, arr.dtype.newbyteorder("<")).tobytes()
    largest = max(arr.shape)
    width = 1 if largest < 256 else 2 if largest < 65536 else 4
    header = bytes([DTYPE_CODES[name]]) if form == 0 else b""
    if form < 2:
        header += bytes([arr.ndim << 2 | (width.bit_length() - 1)])
        header += b"".join(dim.to_bytes(width, "little") for dim in arr.shape)
    assert data == header + values
    assert get_mds_encoded_size(encoding) == (len(data) if form == 2 else None)
    for form_data in (data, memoryview(b"x" + data)[1:]):
        out = mds_decode(encoding, form_data)
        assert out.dtype == arr.dtype.newbyteorder("=")
        assert out.shape == arr.shape
        assert out.tobytes() == values


# --- fuzzing: decoders may only raise FormatError --------------------------------------------

FUZZED = sorted(get_mds_encodings()) + ["ndarray:uint8", "ndarray:float64:3", "ndarray:int16:2,2"]


def _decode_or_format_error(encoding: str, data: bytes) -> None:
    try:
        mds_decode(encoding, data)
    except FormatError:
        pass


@pytest.mark.parametrize("encoding", FUZZED)
@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=120))
def test_decoders_on_random_bytes(encoding: str, data: bytes) -> None:
    _decode_or_format_error(encoding, data)


@settings(max_examples=400, deadline=None)
@given(
    code=st.sampled_from([*DTYPE_CODES.values(), 0, 7, 255]),
    k=st.integers(0, 3),
    dims=st.lists(st.one_of(st.integers(0, 4), st.integers(0, 2**64 - 1)), max_size=63),
    cut=st.integers(0, 3),
    rest=st.binary(max_size=64),
)
def test_ndarray_decoder_on_random_headers(
    code: int, k: int, dims: list[int], cut: int, rest: bytes
) -> None:
    # `cut` drops trailing dims from the bytes while the header still counts them.
    packed = b"".join((d % (1 << (8 << k))).to_bytes(1 << k, "little") for d in dims)
    packed = packed[: len(packed) - cut * (1 << k)] if cut <= len(dims) else packed
    _decode_or_format_error("ndarray", bytes([code, len(dims) << 2 | k]) + packed + rest)


@settings(max_examples=200, deadline=None)
@given(
    encoding=st.sampled_from(["list[pil]", "list[png]", "list[jpeg]", "jpeg_array", "pil"]),
    ints=st.lists(st.integers(0, 2**32 - 1), max_size=6),
    rest=st.binary(max_size=64),
)
def test_length_prefixed_decoders_on_random_headers(
    encoding: str, ints: list[int], rest: bytes
) -> None:
    _decode_or_format_error(encoding, struct.pack(f"<{len(ints)}I", *ints) + rest)


@pytest.mark.parametrize(
    "encoding, data, message",
    [
        # A shape of 2**60 elements in a few bytes: refused before numpy allocates anything.
        ("ndarray", bytes([8, 3 << 2 | 3]) + struct.pack("<3Q", 2**20, 2**20, 2**20), "needs"),
        ("ndarray", bytes([8, 1 << 2 | 3]) + struct.pack("<Q", 2**64 - 1), "needs"),
        ("ndarray", b"", "no dtype byte"),
        ("ndarray", b"\x07\x04\x01\x00", "unknown dtype byte 7"),
        ("ndarray", b"\x08", "ends before the shape header"),
        ("ndarray", b"\x08\x00", "0 dimensions"),
        ("ndarray", b"\x08\x0b\x01\x00", "4 bytes cannot hold a shape of 2 dims of 8 bytes"),
        ("ndarray", b"\x08\x04\x00", r"shape \(0,\) has a zero dimension"),
        ("ndarray", b"\x11\x04\x02\x00\x00\x00", r"shape \(2,\) of int16 needs 4 bytes.*got 3"),
        ("ndarray:uint8:2", b"\x01\x02\x03", r"shape \(2,\) of uint8 needs 2 bytes.*got 3"),
        ("ndarray:int32", b"\x04\x01\x00", r"shape \(1,\) of int32 needs 4 bytes.*got 1"),
        ("int", b"\x01" * 7, "expected 8 bytes, got 7"),
        ("float32", b"\x01" * 5, "expected 4 bytes, got 5"),
        ("uint8", b"", "expected 1 bytes, got 0"),
        ("str", b"\xff", "not UTF-8"),
        ("str_int", b"1.5", "not a int in text"),
        ("str_int", b"True", "not a int in text"),
        ("str_int", b"9" * 5000, "not a int in text"),
        ("str_float", b"x", "not a float in text"),
        ("str_decimal", b"1..2", "not a Decimal in text"),
        ("json", b"{", "Expecting property name"),
        ("json", b"[" * 100_000, "recursion"),
        ("json", b"\xff", "can't decode byte"),
        ("pkl", b"\x80\x05junk", "UnpicklingError|KeyError|EOFError"),
        ("pkl", b"", "EOFError"),
        ("pil", b"\x01\x00", "2 bytes cannot hold the 12-byte header"),
        ("pil", struct.pack("<3I", 1, 1, 9) + b"RGB", "cannot hold a 9-byte mode name"),
        ("pil", struct.pack("<3I", 1, 1, 3) + b"XYZ\x00", "unknown image mode b'XYZ'"),
        (
            "pil",
            struct.pack("<3I", 65535, 65535, 3) + b"RGB\x00",
            "a 65535x65535 RGB image needs 12884508675 bytes of pixels, but got 1",
        ),
        ("pil", struct.pack("<3I", 0, 2**31, 1) + b"L", "no pixels, but a huge side"),
        ("jpeg", b"", "UnidentifiedImageError"),
        ("png", b"\x89PNG", "UnidentifiedImageError"),
        ("list[pil]", b"\x00" * 7, "7 bytes cannot hold the header"),
        ("list[png]", struct.pack("<2I", 0, 2**32 - 1), "cannot hold the sizes of 4294967295"),
        ("list[png]", struct.pack("<3I", 0, 1, 5) + b"abcd", "add up to 5 bytes, but 4 follow"),
        ("list[png]", struct.pack("<3I", 0, 1, 1) + b"a", "Cannot decode 'png' data"),
        ("jpeg_array", b"\x01\x00", "2 bytes cannot hold the header"),
        ("jpeg_array", struct.pack("<2I", 1, 3) + b"ab", "add up to 3 bytes, but 2 follow"),
        ("jpegarray", struct.pack("<2I", 1, 2) + b"ab", "Cannot decode 'jpegarray' data"),
    ],
)
def test_decode_errors(encoding: str, data: bytes, message: str) -> None:
    with pytest.raises(EncodingError, match=message) as info:
        mds_decode(encoding, data)
    assert str(info.value).startswith("Cannot decode '")


# --- encode errors ---------------------------------------------------------------------------


class _Unpicklable:
    def __reduce__(self) -> tuple:
        raise TypeError("no pickling here")


@pytest.mark.parametrize(
    "encoding, value, message",
    [
        ("bytes", bytearray(b"x"), "Encoding 'bytes' expects bytes, but got bytearray"),
        ("bytes", "x", "Encoding 'bytes' expects bytes, but got str"),
        ("str", 5, "Encoding 'str' expects str, but got int"),
        ("int", np.int64(1), "expects a Python int .*, but got numpy.int64"),
        ("int", 1.0, "expects a Python int .*, but got float"),
        ("int", 2**63, "got 9223372036854775808, which is out of range"),
        ("int", -(2**63) - 1, "out of range"),
        ("uint8", 256, "'uint8' expects a value that numpy.uint8\\(\\) accepts, but got int 256"),
        ("uint8", -1, "numpy.uint8\\(\\) accepts, but got int -1"),
        ("float32", "abc", "numpy.float32\\(\\) accepts, but got str 'abc'"),
        ("int16", None, "numpy.int16\\(\\) accepts, but got NoneType"),
        ("uint8", [1, 2], "holds one 1-byte value, but got list \\[1, 2\\], which encodes to 2"),
        ("float64", [], "which encodes to 0 bytes"),
        ("str_int", 1.0, "'str_int' expects a Python int, but got float"),
        pytest.param("str_int", 10**5000, "cannot write int", id="str_int-5001-digits"),
        ("str_float", 1, "'str_float' expects a Python float, but got int"),
        ("str_decimal", 1.5, "'str_decimal' expects a Python Decimal, but got float"),
        ("ndarray", [1, 2], "'ndarray' expects a numpy.ndarray, but got list"),
        ("ndarray", np.array([True]), "cannot write dtype bool: expected one of"),
        ("ndarray", np.array([1j]), "cannot write dtype complex128"),
        ("ndarray", np.array(["a"]), "cannot write dtype <U1"),
        ("ndarray:uint8", np.array([1], np.int16), "expects dtype uint8, but got int16"),
        ("ndarray:uint8:2", np.array([1], np.int16), "expects dtype uint8, but got int16"),
        ("ndarray:uint8:2", np.array([1], np.uint8), r"expects shape \(2,\), but got \(1,\)"),
        ("ndarray:uint8:2", np.ones((2, 1), np.uint8), r"expects shape \(2,\), but got \(2, 1\)"),
        ("ndarray", np.array(5, np.uint8), "cannot write a 0-d array; use a scalar encoding"),
        ("ndarray", np.zeros((0, 3), np.uint8), r"no elements \(shape \(0, 3\)\)"),
        ("ndarray:uint8", np.zeros((2, 0), np.uint8), "no elements"),
        ("ndarray", np.zeros((1,) * 64, np.uint8), "at most 63 dimensions, but got 64"),
        ("pil", np.zeros((2, 2)), "'pil' expects a PIL.Image.Image, but got numpy.ndarray"),
        ("png", "x.png", "'png' expects a PIL.Image.Image, but got str"),
        ("jpeg", Image.new("RGBA", (2, 2)), "cannot save the image: cannot write mode RGBA"),
        ("list[pil]", (Image.new("L", (1, 1)),), "'list\\[pil\\]' expects a list of PIL images"),
        ("list[jpeg]", [b"\xff\xd8"], "'list\\[jpeg\\]', element 0: .*but got bytes"),
        ("list[png]", [Image.new("L", (1, 1)), 3], "element 1: .*'png' expects a PIL.*got int"),
        ("jpeg_array", [Image.new("L", (1, 1))], "sequence of JPEG bytes, but element 0 is"),
        ("jpeg_array", "abc", "'jpeg_array' expects a sequence of JPEG bytes, but got str"),
        ("jpeg_array", 5, "expects a sequence of JPEG bytes, but got int"),
        ("json", {1, 2}, "'json' cannot write set: Object of type set is not JSON serializable"),
        ("json", np.int64(3), "Object of type int64 is not JSON serializable"),
        ("pkl", _Unpicklable(), "'pkl' cannot pickle _Unpicklable: no pickling here"),
        ("pkl", lambda: 1, "'pkl' cannot pickle function"),
    ],
)
def test_encode_errors(encoding: str, value: object, message: str) -> None:
    with pytest.raises(EncodingError, match=message):
        mds_encode(encoding, value)


def test_json_circular_reference() -> None:
    value: list = []
    value.append(value)
    with pytest.raises(EncodingError, match="Circular reference"):
        mds_encode("json", value)


def test_json_matches_stdlib() -> None:
    value = {"b": [1, 2], "a": "é", "n": float("nan")}
    assert mds_encode("json", value) == json.dumps(value).encode()
