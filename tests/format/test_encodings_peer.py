"""Our MDS encodings against mosaicml-streaming 0.13.0's, value by value, byte for byte.

One peer process encodes every case and decodes its own bytes; we then check that our encoder
gives the same bytes (or refuses the same values) and that our decoder reads the peer's bytes
to the same values.
"""

from __future__ import annotations

import json
import math
import pickle
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from streaming.format.errors import EncodingError
from streaming.format.mds.encodings import (
    get_mds_encoded_size,
    get_mds_encodings,
    is_mds_encoding,
    mds_decode,
    mds_encode,
)
from tests.peers.runner import run_peer

pytestmark = pytest.mark.peer

NUMPY_SCALARS = ["uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64"]
NUMPY_SCALARS += ["float16", "float32", "float64"]

# Shared by both sides: a comparable summary of a decoded value (exact type, bytes, pixels).
FINGERPRINT = """
import hashlib
import numpy as np
from PIL import Image

def fingerprint(v):
    if isinstance(v, Image.Image):
        return ["image", type(v).__name__, v.format, v.mode, list(v.size),
                hashlib.sha256(v.tobytes()).hexdigest()]
    if isinstance(v, list):
        return ["list", [fingerprint(x) for x in v]]
    if isinstance(v, np.ndarray):
        return ["ndarray", v.dtype.str, list(v.shape), v.tobytes().hex()]
    if isinstance(v, np.generic):
        return ["numpy", type(v).__name__, v.tobytes().hex()]
    return [type(v).__name__, repr(v)]

def materialize(v):
    if isinstance(v, tuple) and len(v) == 2 and v[0] == "__open__":
        return Image.open(v[1])
    if isinstance(v, tuple) and len(v) == 2 and v[0] == "__big_endian_int16__":
        return np.array(v[1], ">i2")  # built here: pickle does not keep the byte order
    return v
"""

PEER_SCRIPT = (
    FINGERPRINT
    + """
import json, pickle, sys
from streaming.base.format.mds.encodings import (
    get_mds_encoded_size, get_mds_encodings, is_mds_encoding, mds_decode, mds_encode)

with open(sys.argv[1], "rb") as f:
    cases, strings = pickle.load(f)
results = []
for encoding, value in cases:
    rec = {}
    try:
        data = mds_encode(encoding, materialize(value))
        rec["data"] = data.hex()
    except Exception as err:
        rec["encode_error"] = type(err).__name__
    else:
        try:
            rec["decoded"] = fingerprint(mds_decode(encoding, data))
        except Exception as err:
            rec["decode_error"] = type(err).__name__
    results.append(rec)
sizes = []
for s in strings:
    try:
        sizes.append([is_mds_encoding(s), get_mds_encoded_size(s)])
    except Exception as err:
        sizes.append(["error", type(err).__name__])
print(json.dumps({"cases": results, "sizes": sizes, "names": sorted(get_mds_encodings())}))
"""
)

_ns: dict[str, Any] = {}
exec(FINGERPRINT, _ns)  # noqa: S102 - the same helper text the peer runs
fingerprint = _ns["fingerprint"]
materialize = _ns["materialize"]


def _image(mode: str, size: tuple[int, int], seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    nbytes = len(Image.new(mode, size).tobytes())
    raw = rng.integers(0, 256, nbytes, dtype=np.uint8).tobytes()
    if mode == "F":
        raw = rng.random(size[0] * size[1], dtype=np.float32).tobytes()
    return Image.frombytes(mode, size, raw)


def _jpeg(seed: int, quality: int = 75) -> bytes:
    out = BytesIO()
    _image("RGB", (9, 7), seed).save(out, format="JPEG", quality=quality)
    return out.getvalue()


def _arrays() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(1)
    cases = []
    for name in ("uint8", "int8", "uint16", "int16", "float16", "uint32", "int32", "float32"):
        for shape in [(1,), (3,), (2, 3), (1, 1, 4), (2, 1, 2, 1, 3)]:
            raw = rng.integers(0, 256, math.prod(shape) * np.dtype(name).itemsize, np.uint8)
            arr = np.frombuffer(raw.tobytes(), name).reshape(shape).copy()
            if name.startswith("float"):
                arr[np.isnan(arr)] = 0
            dims = ",".join(map(str, shape))
            cases += [("ndarray", arr), (f"ndarray:{name}", arr), (f"ndarray:{name}:{dims}", arr)]
    for name in ("uint64", "int64", "float64"):
        info = np.finfo(name) if name.startswith("float") else np.iinfo(name)
        arr = np.array([[info.min, 0, info.max]], name)
        cases += [("ndarray", arr), (f"ndarray:{name}", arr), (f"ndarray:{name}:1,3", arr)]
    wide = [
        (np.arange(300) % 256).astype(np.uint8).reshape(1, 300),  # uint16 dims
        np.zeros((2, 70_000), np.uint8),  # uint32 dims
        np.ones((1,) * 63, np.float32),  # the most dims
        np.asfortranarray(np.arange(12, dtype=np.int32).reshape(3, 4)),
        np.arange(20, dtype=np.int16).reshape(4, 5)[::2, 1:4],  # not contiguous
        np.array([np.nan, np.inf, -0.0], np.float64),
    ]
    cases += [(enc, arr) for arr in wide for enc in ("ndarray", f"ndarray:{arr.dtype.name}")]
    return cases


def _cases(tmp_path: Path) -> list[tuple[str, Any]]:
    jpeg_file = tmp_path / "q95.jpg"
    jpeg_file.write_bytes(_jpeg(7, quality=95))
    png_file = tmp_path / "rgb.png"
    _image("RGB", (6, 4), 8).save(png_file)
    opened_jpeg = ("__open__", str(jpeg_file))
    opened_png = ("__open__", str(png_file))
    cases: list[tuple[str, Any]] = [
        *[("bytes", v) for v in (b"", b"\x00\xff", bytes(range(256)))],
        *[("str", v) for v in ("", "ab", "héllo ✓ 🎉", "\x00\n")],
        *[("int", v) for v in (0, 1, -1, 2**63 - 1, -(2**63), True, False)],
        *[("str_int", v) for v in (0, -5, 10**30, True)],
        *[("str_float", v) for v in (1.5, -0.0, 1e300, math.inf, math.nan, np.float64(2.5))],
        *[("str_decimal", v) for v in (Decimal("1.10"), Decimal("-1e-30"), Decimal("NaN"))],
        *_arrays(),
        ("json", {"a": [1, 2.5, None, True], "é": "✓", "n": math.nan}),
        ("json", [1, "x"]),
        ("json", None),
        ("json", np.array([[1, 2], [3, 4]], np.int32)),
        ("json", np.array([0.5, 1e-10])),
        ("pkl", {"a": (1, 2.5), "b": {1, 2}, "c": Decimal("3.3"), "d": b"\x00"}),
        ("pkl", np.arange(6, dtype=np.int16).reshape(2, 3)),
        ("pkl", [None, "é"]),
        # pre-encoded values pass through, whatever the encoding (if they can be read back)
        *[(enc, b"\x01\x02\x03") for enc in ("str", "jpeg", "pkl")],
        ("json", b"[1, 2]"),
        ("ndarray", bytes([8, 4, 3, 1, 2, 3])),
        ("int", b"\x01" * 8),
        ("ndarray:uint8:2", b"\x05\x06"),
    ]
    for name in ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64"):
        info = np.iinfo(name)
        cases += [(name, v) for v in (0, 1, int(info.min), int(info.max))]
        cases += [(name, getattr(np, name)(7)), (name, 3.9), (name, "12")]
    for name in ("float16", "float32", "float64"):
        cases += [(name, v) for v in (0.0, -1.5, 42.0, 1e-3, math.inf, 65504, np.float64(0.1))]
    pil_modes = ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "YCbCr", "I", "F", "I;16"]
    cases += [("pil", _image(mode, (7, 3), i)) for i, mode in enumerate(pil_modes)]
    cases += [("pil", opened_jpeg), ("pil", Image.new("RGB", (0, 3)))]
    cases += [("png", _image(mode, (7, 3), i)) for i, mode in enumerate(["1", "L", "LA"])]
    cases += [("png", _image(mode, (7, 3), i)) for i, mode in enumerate(["RGB", "RGBA", "I;16"])]
    cases += [("png", opened_jpeg), ("png", opened_png)]
    cases += [("jpeg", _image(mode, (16, 16), 3)) for mode in ("L", "RGB", "CMYK")]
    cases += [("jpeg", opened_jpeg), ("jpeg", opened_png)]
    images = [_image("RGB", (5, 3), 4), _image("L", (2, 9), 5)]
    for enc in ("list[pil]", "list[png]", "list[jpeg]"):
        cases += [(enc, []), (enc, images[:1]), (enc, images)]
    for enc in ("jpeg_array", "jpegarray"):
        cases += [(enc, [_jpeg(1)]), (enc, [_jpeg(2), _jpeg(3), _jpeg(4)]), (enc, ())]
    return cases


# Values that the peer refuses to encode, and so do we (with EncodingError).
REFUSED: list[tuple[str, Any]] = [
    ("bytes", "x"),
    ("bytes", bytearray(b"x")),
    ("str", 1),
    ("int", np.int64(1)),
    ("int", 1.0),
    ("int", 2**63),
    ("uint8", 256),
    ("uint8", -1),
    ("float32", "abc"),
    ("int16", None),
    ("str_int", 1.0),
    ("str_float", 1),
    ("str_decimal", 1.5),
    ("ndarray", [1, 2]),
    ("ndarray", np.array([True])),
    ("ndarray", np.array([1j])),
    ("ndarray:uint8", np.array([1], np.int16)),
    ("ndarray:uint8:2", np.array([1], np.uint8)),
    ("ndarray:uint8:2", np.ones((2, 1), np.uint8)),
    ("ndarray", np.array(5, np.uint8)),
    ("ndarray", np.zeros((0, 3), np.uint8)),
    ("ndarray:uint8", np.zeros((2, 0), np.uint8)),
    ("ndarray", np.zeros((1,) * 64, np.uint8)),
    ("pil", np.zeros((2, 2))),
    ("png", "x.png"),
    ("jpeg", Image.new("RGBA", (2, 2))),
    ("list[pil]", (Image.new("L", (1, 1)),)),
    ("list[jpeg]", [b"\xff\xd8"]),
    ("jpeg_array", [Image.new("L", (1, 1))]),
    ("jpeg_array", 5),
    ("json", {1, 2}),
    ("json", np.int64(3)),
    ("json", {"a": np.array([1])}),
]
# Values that we refuse, but the peer encodes (to bytes its writer then rejects).
REFUSED_BY_US_ONLY: list[tuple[str, Any]] = [
    ("uint8", [1, 2]),  # numpy.uint8([1, 2]) is 2 bytes, for a 1-byte column
    ("float32", []),
]
# Big-endian arrays: the peer writes their bytes as they are under a little-endian dtype
# byte, so it reads back other numbers (and refuses them if the encoding names the dtype).
# We write them little-endian.
BIG_ENDIAN: list[tuple[str, Any]] = [("ndarray", ("__big_endian_int16__", [1, 2]))]


ENCODING_STRINGS = [
    *sorted(get_mds_encodings()),
    "ndarray:",
    "ndarray:uint8",
    "ndarray:uint8:3",
    "ndarray:uint8: 3",
    "ndarray:uint8:+3,1_0",
    "ndarray:float16:2,3",
    "ndarray:float64:32,32,3",
    "foo",
    "JPEG",
    "list[int]",
    "foo:bar",
    "int:3",
    "ndarray:bool",
    "ndarray::3",
    "ndarray:uint8:",
    "ndarray:uint8:0",
    "ndarray:uint8:3,",
    "ndarray:uint8:1:2",
]


@pytest.fixture(scope="module")
def peer(mosaic_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp_path = tmp_path_factory.mktemp("peer_encodings")
    cases = _cases(tmp_path) + REFUSED + REFUSED_BY_US_ONLY + BIG_ENDIAN
    cases_file = tmp_path / "cases.pkl"
    cases_file.write_bytes(pickle.dumps((cases, ENCODING_STRINGS)))
    result = json.loads(run_peer(mosaic_python, PEER_SCRIPT, str(cases_file)))
    result["inputs"] = cases
    return result


def test_same_encoding_names(peer: dict) -> None:
    assert sorted(get_mds_encodings()) == peer["names"]


def test_same_encoding_strings(peer: dict) -> None:
    for encoding, (valid, size) in zip(ENCODING_STRINGS, peer["sizes"], strict=True):
        if valid is True:
            assert is_mds_encoding(encoding), encoding
            assert get_mds_encoded_size(encoding) == size, encoding
        else:  # the peer says False or raises (AssertionError, KeyError, ValueError...)
            assert not is_mds_encoding(encoding), encoding


def _accepted(peer: dict) -> int:
    """How many cases, from the first, both sides encode."""
    return len(peer["cases"]) - len(REFUSED) - len(REFUSED_BY_US_ONLY) - len(BIG_ENDIAN)


def test_big_endian_arrays(peer: dict) -> None:
    rec = peer["cases"][-1]
    assert rec["data"] == "11040200010002"  # the peer: big-endian values
    assert rec["decoded"][3] == "00010002"  # ...which it reads as [256, 512]
    ours = mds_encode("ndarray", materialize(BIG_ENDIAN[0][1]))
    assert ours.hex() == "11040201000200"
    assert mds_decode("ndarray", ours).tolist() == [1, 2]


def test_same_bytes_and_values(peer: dict) -> None:
    accepted = _accepted(peer)
    checked = zip(
        peer["inputs"][: -len(BIG_ENDIAN)], peer["cases"][: -len(BIG_ENDIAN)], strict=True
    )
    for i, ((encoding, value), rec) in enumerate(checked):
        label = f"case {i}: {encoding} {type(value).__name__} {str(value)[:60]!r}"
        value = materialize(value)
        assert ("encode_error" in rec) == (accepted <= i < accepted + len(REFUSED)), label
        if i >= accepted:
            with pytest.raises(EncodingError):
                mds_encode(encoding, value)
            continue
        assert mds_encode(encoding, value).hex() == rec["data"], label
        data = bytes.fromhex(rec["data"])
        if "decode_error" in rec:  # str_int True -> b"True"; a jpeg_array of no images
            with pytest.raises(EncodingError):
                mds_decode(encoding, data)
        else:
            decoded = json.loads(json.dumps(fingerprint(mds_decode(encoding, data))))
            assert decoded == rec["decoded"], label
    decode_errors = [
        enc
        for (enc, _), rec in zip(peer["inputs"][:accepted], peer["cases"][:accepted], strict=True)
        if "decode_error" in rec
    ]
    assert decode_errors == ["str_int", "jpeg", "pkl", "jpeg_array", "jpegarray"]


def _pixels(images: Any) -> list[tuple]:
    images = [images] if isinstance(images, Image.Image) else images
    return [(i.mode, i.size, i.tobytes()) for i in images]


def _expected(encoding: str, value: Any) -> Any:
    """The fingerprint that decoding `value`'s encoding must give, for lossless encodings."""
    if encoding == "int":
        return fingerprint(int(value))
    if encoding == "str_float":
        return fingerprint(float(value))
    if encoding.startswith("ndarray"):
        return fingerprint(np.ascontiguousarray(value))
    if encoding == "json":
        return fingerprint(
            json.loads(json.dumps(value.tolist() if isinstance(value, np.ndarray) else value))
        )
    if encoding in NUMPY_SCALARS:
        return fingerprint(getattr(np, encoding)(value))
    return fingerprint(value)


def test_lossless_values_come_back(peer: dict) -> None:
    """Our decoding of the peer's bytes gives back the original, where the encoding is lossless."""
    lossy = {"jpeg", "list[jpeg]", "jpeg_array", "jpegarray"}
    count = 0
    accepted = _accepted(peer)
    for (encoding, value), rec in zip(
        peer["inputs"][:accepted], peer["cases"][:accepted], strict=True
    ):
        if "decoded" not in rec or encoding in lossy or isinstance(value, (bytes, tuple)):
            continue
        decoded = mds_decode(encoding, bytes.fromhex(rec["data"]))
        if encoding in ("pil", "list[pil]", "png", "list[png]"):
            assert _pixels(decoded) == _pixels(value), encoding
        else:
            assert fingerprint(decoded) == _expected(encoding, value), (encoding, value)
        count += 1
    assert count > 200
