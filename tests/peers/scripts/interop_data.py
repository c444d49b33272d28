"""The interop datasets: their specs, their samples and the values a reader must decode.

Shared by both sides: our tests import it, and the peer scripts beside it run it inside the
mosaicml-streaming venv. It imports only numpy, PIL and the standard library, and every value is
a pure function of the spec name (seeded numpy PCG64, same numpy and PIL on both sides), so both
interpreters write the same samples and expect the same decoded values.

`write_spec(spec, out, api, workdir)` writes one spec with whichever library's writers are passed
in `api` (``{"mds": MDSWriter, ..., "merge_index": merge_index}``), so both sides run the very
same write calls. `digest(value)` is a JSON-able, exact fingerprint of a decoded value (type,
dtype, shape, bytes), computed identically by both interpreters.
"""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from decimal import Decimal
from io import BytesIO
from typing import Any

import numpy as np
from PIL import Image

SEED = 20250613

NUMPY_SCALARS = [
    "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
    "float16", "float32", "float64",
]  # fmt: skip

# Every hashlib (but shake_) and xxhash algorithm of both venvs (CPython 3.11.7, xxhash 3.8.2).
ALL_HASHES = sorted(
    [
        "blake2b", "blake2s", "md5", "sha1", "sha224", "sha256", "sha384", "sha3_224",
        "sha3_256", "sha3_384", "sha3_512", "sha512", "xxh128", "xxh32", "xxh3_128",
        "xxh3_64", "xxh64",
    ]
)  # fmt: skip

MIXED_COLUMNS = {"id": "int", "text": "str", "arr": "ndarray:int32", "blob": "bytes"}
TEXT_COLUMNS = {"id": "int", "text": "str", "score": "float"}

COMPRESSIONS = {
    # compression: hashes recorded with it
    None: ["sha1"],
    "br": ["md5", "xxh64"],
    "bz2": ["sha256"],
    "gz": ["xxh3_64"],
    "snappy": ["blake2b", "xxh32"],
    "zstd": ["sha1", "xxh3_128"],
    "zstd:7": ["sha3_256"],
    "br:5": ["xxh128"],
    "bz2:1": ["md5"],
    "gz:1": ["sha1"],
}


def _spec(name: str, kind: str, columns: dict | None = None, n: int = 0, **kwargs: Any) -> dict:
    return {"name": name, "kind": kind, "columns": columns, "n": n, "kwargs": kwargs}


def _comp_name(compression: str | None) -> str:
    return "comp_" + (compression or "none").replace(":", "_")


def _specs() -> list[dict]:
    specs = [
        # Every MDS encoding.
        _spec(
            "mds_scalars",
            "mds",
            {
                "bytes": "bytes",
                "str": "str",
                "int": "int",
                **{f"np_{t}": t for t in NUMPY_SCALARS},
                "str_int": "str_int",
                "str_float": "str_float",
                "str_decimal": "str_decimal",
            },
            40,
            size_limit=1500,
            hashes=["sha1", "xxh64"],
        ),
        _spec(
            "mds_ndarrays",
            "mds",
            {
                "dyn": "ndarray",
                "typed_i16": "ndarray:int16",
                "typed_f64": "ndarray:float64",
                "typed_u32": "ndarray:uint32",
                "fixed_f32": "ndarray:float32:3,4",
                "fixed_u8": "ndarray:uint8:2,3,5",
                "fixed_u64": "ndarray:uint64:7",
                "fixed_i8": "ndarray:int8:1",
                "fixed_f16": "ndarray:float16:2,2",
            },
            33,
            size_limit=4000,
            hashes=["md5"],
        ),
        _spec(
            "mds_images",
            "mds",
            {
                "pil": "pil",
                "jpeg": "jpeg",
                "png": "png",
                "pils": "list[pil]",
                "jpegs": "list[jpeg]",
                "pngs": "list[png]",
                "jarr": "jpeg_array",
                "jarr2": "jpegarray",
            },
            16,
            size_limit=20000,
            hashes=["xxh3_64"],
        ),
        _spec(
            "mds_objects",
            "mds",
            {"id": "int", "pk": "pkl", "js": "json"},
            len(_PKL_VALUES),
            size_limit=800,
            hashes=["sha256"],
        ),
        # Every compression (and a hash or two with each).
        *[
            _spec(
                _comp_name(comp),
                "mds",
                MIXED_COLUMNS,
                30,
                size_limit=1200,
                compression=comp,
                hashes=hashes,
            )
            for comp, hashes in COMPRESSIONS.items()
        ],
        _spec(
            "mds_all_hashes",
            "mds",
            MIXED_COLUMNS,
            20,
            size_limit=1500,
            compression="zstd",
            hashes=ALL_HASHES,
        ),
        # The split formats.
        _spec("json_plain", "json", TEXT_COLUMNS, 30, size_limit=600, hashes=["sha1"]),
        _spec(
            "json_zstd",
            "json",
            TEXT_COLUMNS,
            30,
            size_limit=600,
            compression="zstd",
            hashes=["md5", "xxh64"],
        ),
        _spec(
            "json_crlf_gz",
            "json",
            TEXT_COLUMNS,
            12,
            newline="\r\n",
            compression="gz",
            hashes=["sha1"],
        ),
        _spec("csv_plain", "csv", TEXT_COLUMNS, 30, size_limit=400, hashes=["xxh32"]),
        _spec(
            "csv_bz2", "csv", TEXT_COLUMNS, 20, size_limit=400, compression="bz2", hashes=["sha1"]
        ),
        _spec("tsv_plain", "tsv", TEXT_COLUMNS, 25, size_limit=400, hashes=["sha224"]),
        _spec(
            "tsv_br", "tsv", TEXT_COLUMNS, 20, size_limit=400, compression="br:5", hashes=["xxh64"]
        ),
        _spec("xsv_pipe", "xsv", TEXT_COLUMNS, 25, size_limit=400, separator="|", hashes=["md5"]),
        _spec(
            "xsv_multi_snappy",
            "xsv",
            TEXT_COLUMNS,
            15,
            separator="::",
            newline="\r\n",
            compression="snappy",
            hashes=["sha1"],
        ),
        # Multi-part datasets merged with merge_index, both call forms.
        {
            "name": "merge_root",
            "kind": "merge_root",
            "parts": [
                ("part-00000", "mds", MIXED_COLUMNS, 7, {"size_limit": 600, "hashes": ["sha1"]}),
                (
                    "part-00001",
                    "mds",
                    MIXED_COLUMNS,
                    5,
                    {"compression": "zstd", "hashes": ["sha1"]},
                ),
                ("part-00002", "mds", MIXED_COLUMNS, 6, {"size_limit": 500}),
            ],
        },
        {
            "name": "merge_list",
            "kind": "merge_list",
            "order": [2, 0, 1],
            "parts": [
                ("p0", "mds", MIXED_COLUMNS, 4, {"hashes": ["md5"]}),
                ("p1", "mds", MIXED_COLUMNS, 6, {"size_limit": 500, "compression": "br"}),
                ("p2", "mds", MIXED_COLUMNS, 5, {"hashes": ["md5"]}),
            ],
        },
        {
            "name": "merge_list_json",
            "kind": "merge_list",
            "order": [1, 0],
            "parts": [
                ("j0", "json", TEXT_COLUMNS, 5, {"hashes": ["sha1"]}),
                ("j1", "json", TEXT_COLUMNS, 8, {"size_limit": 200}),
            ],
        },
        # Edge cases.
        _spec("edge_oversize_first", "mds", {"blob": "bytes", "id": "int"}, 8, size_limit=300),
        _spec("edge_json_oversize_first", "json", TEXT_COLUMNS, 6, size_limit=40),
        _spec("edge_csv_oversize_first", "csv", TEXT_COLUMNS, 6, size_limit=30),
        _spec("edge_size_str", "mds", MIXED_COLUMNS, 30, size_limit="1kb"),
        _spec("edge_size_str_upper", "mds", MIXED_COLUMNS, 30, size_limit=" 2KB "),
        _spec("edge_size_none", "mds", MIXED_COLUMNS, 40, size_limit=None, hashes=["sha1"]),
        _spec("edge_size_zero", "mds", MIXED_COLUMNS, 10, size_limit=0),
        _spec("edge_empty", "mds", {"a": "int", "b": "str"}, 0),
        _spec("edge_empty_json", "json", TEXT_COLUMNS, 0, hashes=["sha1"]),
        _spec("edge_empty_csv_zstd", "csv", TEXT_COLUMNS, 0, compression="zstd"),
        _spec(
            "edge_unsorted_columns",
            "mds",
            {
                "zeta": "int",
                "alpha": "str",
                "Mid": "bytes",
                "éclair": "float32",
                "_u": "ndarray:uint8:2",
                "a b": "str",
                "Zed": "str_int",
            },
            10,
        ),
        _spec("edge_unsorted_csv", "csv", {"zeta": "int", "Alpha": "str", "mid": "float"}, 10),
        _spec("edge_hashes_empty", "mds", MIXED_COLUMNS, 5, hashes=[]),
        _spec(
            "edge_passthrough",
            "mds",
            {"i": "int", "s": "str", "j": "jpeg", "f": "float64", "arr": "ndarray:int16:2"},
            6,
        ),
        # Inputs the peer accepts (checked as compat cases too).
        _spec("lenient_extra_keys", "mds", MIXED_COLUMNS, 6),
        _spec("lenient_json_extra_keys", "json", TEXT_COLUMNS, 6),
        _spec("lenient_csv_extra_keys", "csv", TEXT_COLUMNS, 6),
        _spec("lenient_hashes_duplicate", "mds", MIXED_COLUMNS, 5, hashes=["sha1", "sha1"]),
        _spec("lenient_size_fraction", "mds", MIXED_COLUMNS, 20, size_limit="1.1kb"),
        _spec(
            "lenient_scalar_casts",
            "mds",
            {"u8": "uint8", "f32": "float32", "i16": "int16", "f16": "float16"},
            4,
        ),
    ]
    return specs


_PKL_VALUES = [
    {"a": (1, 2.5, None), "b": [b"x", "y"], 3: {4: 5}},
    Decimal("1.50"),
    complex(1.5, -2),
    2**100,
    -(2**70),
    {3, 1, 2},
    frozenset({7, 9}),
    [[1, [2, [3]]], ()],
    True,
    None,
    "plain str ✓",
    3.25,
    float("-inf"),
    (1,),
    {"nested": {"deep": [1.0, -0.0, {"x": (b"",)}]}},
    bytearray(b"mutable"),
    list(range(40)),
]

_STRINGS = [
    "",
    "ascii",
    "ünïcödé",
    "日本語テキスト",
    "emoji 🎉🚀",
    "tab\tnew\nline",
    'quote"back\\slash',
    "\x00nul",
]
_TEXT_WORDS = ["alpha", "beta", "gamma", "δέλτα", "ε", "naïve", "中文", "x"]
_DECIMALS = [
    "1.10", "-0.000", "1E+5", "NaN", "-Infinity", "0",
    "3.14159265358979323846264338327950288419716939937510", "-12345678901234567890.5",
]  # fmt: skip
_FLOATS = [0.1, -0.0, 1e300, float("inf"), float("-inf"), float("nan"), 5e-324, -2.5]
_PIL_MODES = ["RGB", "L", "RGBA", "I", "F", "1", "CMYK", "I;16", "LA"]
_PNG_MODES = ["RGB", "L", "RGBA", "LA", "1", "I;16"]
_JPEG_MODES = ["RGB", "L", "CMYK"]


def get_specs() -> list[dict]:
    """Every interop dataset spec."""
    return _specs()


def get_spec(name: str) -> dict:
    for spec in _specs():
        if spec["name"] == name:
            return spec
    raise KeyError(name)


def _rng(*key: Any) -> np.random.Generator:
    return np.random.default_rng([SEED, zlib.crc32(repr(key).encode("utf-8"))])


# -- values --------------------------------------------------------------------------------------


def _image(rng: np.random.Generator, mode: str, size: tuple[int, int] | None = None) -> Image.Image:
    if size is None:
        size = (int(rng.integers(1, 17)), int(rng.integers(1, 10)))
    nbytes = len(Image.new(mode, size).tobytes())
    raw = rng.integers(0, 256, nbytes, dtype=np.uint8).tobytes()
    if mode == "F":  # finite floats only, so that PIL's own conversions stay deterministic
        raw = (rng.standard_normal(size[0] * size[1]) * 100).astype("<f4").tobytes()
    return Image.frombytes(mode, size, raw)


def _jpeg_bytes(img: Image.Image, **kwargs: Any) -> bytes:
    out = BytesIO()
    img.save(out, format="JPEG", **kwargs)
    return out.getvalue()


def _png_bytes(img: Image.Image) -> bytes:
    out = BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def _reopen(data: bytes) -> Image.Image:
    img = Image.open(BytesIO(data))
    img.load()
    return img


def _array(rng: np.random.Generator, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    dt = np.dtype(dtype)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return rng.integers(info.min, info.max, shape, dtype=dt, endpoint=True)
    return (rng.standard_normal(shape) * 1000).astype(dt)


def _scalar_value(rng: np.random.Generator, dtype: str, i: int) -> Any:
    dt = np.dtype(dtype)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        specials = [int(info.min), int(info.max), 0, 1]
        v = specials[i] if i < len(specials) else int(_array(rng, dtype, ())[()])
    else:
        specials = [float("nan"), float("inf"), float("-inf"), -0.0, float(np.finfo(dt).max),
                    float(np.finfo(dt).smallest_subnormal)]  # fmt: skip
        v = specials[i] if i < len(specials) else float(_array(rng, dtype, ())[()])
    # Alternate numpy scalars and plain Python numbers: the peer takes both.
    return dt.type(v) if i % 2 == 0 else v


def _text(rng: np.random.Generator, max_words: int = 4) -> str:
    k = int(rng.integers(1, max_words + 1))
    return " ".join(_TEXT_WORDS[int(j)] for j in rng.integers(0, len(_TEXT_WORDS), k))


def _mixed(rng: np.random.Generator, i: int) -> dict[str, Any]:
    return {
        "id": i * 7 - 3,
        "text": _text(rng) + f" #{i}",
        "arr": _array(rng, "int32", (int(rng.integers(1, 20)),)),
        "blob": rng.bytes(int(rng.integers(0, 60))),
    }


def _text_row(rng: np.random.Generator, i: int) -> dict[str, Any]:
    return {
        "id": int(rng.integers(-(10**12), 10**12)) if i else 0,
        "text": _text(rng),
        "score": float(np.round(rng.standard_normal() * 100, int(rng.integers(0, 8)))),
    }


def _scalars_row(rng: np.random.Generator, i: int) -> tuple[dict, dict]:
    big = [0, -1, 2**63 - 1, -(2**63), 10**30, -(10**40)]
    row: dict[str, Any] = {
        "bytes": b"" if i == 0 else rng.bytes(int(rng.integers(0, 40))),
        "str": _STRINGS[i] if i < len(_STRINGS) else _text(rng),
        "int": big[i] if i < 4 else int(rng.integers(-(2**62), 2**62)),
        "str_int": big[i] if i < len(big) else int(rng.integers(-(2**62), 2**62)) * 1000,
        "str_float": _FLOATS[i] if i < len(_FLOATS) else float(rng.standard_normal() * 1e6),
        "str_decimal": Decimal(
            _DECIMALS[i] if i < len(_DECIMALS) else f"{rng.integers(1, 10**9)}.0{i}"
        ),
    }  # fmt: skip
    for t in NUMPY_SCALARS:
        row[f"np_{t}"] = _scalar_value(rng, t, i)
    expected = dict(row)
    for t in NUMPY_SCALARS:
        expected[f"np_{t}"] = np.dtype(t).type(row[f"np_{t}"])
    return row, expected


def _ndarrays_row(rng: np.random.Generator, i: int) -> tuple[dict, dict]:
    dtype = NUMPY_SCALARS[i % len(NUMPY_SCALARS)]
    ndim = 1 + i % 4
    shape = tuple(int(d) for d in rng.integers(1, 5, ndim))
    if i == 5:
        shape = (300,)  # uint16 dims in the shape header
    if i == 7:
        shape = (1, 70000)  # uint32 dims
    if i == 9:
        shape = (2,) * 6
    dyn = _array(rng, dtype, shape)
    if i == 11:
        dyn = _array(rng, "int64", (4, 6))[:, ::2]  # not contiguous
    if i == 13:
        dyn = np.asfortranarray(_array(rng, "float32", (3, 5)))
    if i == 15 and dyn.dtype.kind == "f":
        dyn.flat[0] = np.nan
    row = {
        "dyn": dyn,
        "typed_i16": _array(rng, "int16", tuple(int(d) for d in rng.integers(1, 6, 1 + i % 3))),
        "typed_f64": _array(rng, "float64", (int(rng.integers(1, 9)),)),
        "typed_u32": _array(rng, "uint32", (int(rng.integers(1, 300)), 1)),
        "fixed_f32": _array(rng, "float32", (3, 4)),
        "fixed_u8": _array(rng, "uint8", (2, 3, 5)),
        "fixed_u64": _array(rng, "uint64", (7,)),
        "fixed_i8": _array(rng, "int8", (1,)),
        "fixed_f16": _array(rng, "float16", (2, 2)),
    }
    expected = {k: np.ascontiguousarray(v) for k, v in row.items()}
    return row, expected


def _images_row(rng: np.random.Generator, i: int, workdir: str) -> tuple[dict, dict]:
    pil = _image(rng, _PIL_MODES[i % len(_PIL_MODES)])
    jmode = _JPEG_MODES[i % len(_JPEG_MODES)]
    if i % 4 == 3:
        # An image opened from a JPEG file: stored as that file's bytes (quality 40, not the
        # default 75, so a re-encode would show).
        path = os.path.join(workdir, f"source-{i}.jpg")
        data = _jpeg_bytes(_image(rng, jmode), quality=40)
        with open(path, "wb") as f:
            f.write(data)
        jpeg = Image.open(path)
        jpeg_expected = _reopen(data)
    else:
        jpeg = _image(rng, jmode)
        jpeg_expected = _reopen(_jpeg_bytes(jpeg))
    png = _image(rng, _PNG_MODES[i % len(_PNG_MODES)])
    pils = [_image(rng, str(m)) for m in rng.choice(_PIL_MODES, i % 4)]
    jpegs = [_image(rng, str(m)) for m in rng.choice(_JPEG_MODES, (i + 1) % 4)]
    pngs = [_image(rng, str(m)) for m in rng.choice(_PNG_MODES, (i + 2) % 4)]
    jarr = [_jpeg_bytes(_image(rng, "RGB")) for _ in range(1 + i % 3)]
    jarr2 = [_jpeg_bytes(_image(rng, "L"), quality=90) for _ in range(1 + (i + 1) % 2)]
    row = {"pil": pil, "jpeg": jpeg, "png": png, "pils": pils, "jpegs": jpegs, "pngs": pngs,
           "jarr": jarr, "jarr2": jarr2}  # fmt: skip
    expected = {
        "pil": pil,
        "jpeg": jpeg_expected,
        "png": _reopen(_png_bytes(png)),
        "pils": pils,
        "jpegs": [_reopen(_jpeg_bytes(x)) for x in jpegs],
        "pngs": [_reopen(_png_bytes(x)) for x in pngs],
        "jarr": [_reopen(x) for x in jarr],
        "jarr2": [_reopen(x) for x in jarr2],
    }
    return row, expected


def _json_value(rng: np.random.Generator, i: int) -> Any:
    choices = [
        {"k": [1, 2.5, None, True, "ü"], "n": {"x": -1}},
        [],
        'text ✓ "quoted"',
        12345678901234567890,
        -0.5,
        None,
        np.arange(6, dtype=np.int64).reshape(2, 3) * (i + 1),
        [{"a": i}, [i, [i]]],
        (1, "tuple"),
        {"nan": float("nan"), "inf": float("inf")},
    ]
    return choices[i % len(choices)]


def _roundtrip_json(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    return json.loads(json.dumps(value))


def _part_rows(kind: str, name: str, n: int) -> list[dict]:
    rng = _rng(name)
    rows = [_mixed(rng, i) if kind == "mds" else _text_row(rng, i) for i in range(n)]
    return rows


def make_samples(spec: dict, workdir: str) -> tuple[list[dict], list[dict]]:
    """The samples to write for `spec`, and the values a reader must decode, in index order.

    `workdir` receives source files that samples refer to (JPEG files opened from disk).
    """
    name, kind, n = spec["name"], spec["kind"], spec.get("n", 0)
    rng = _rng(name)
    if kind in ("merge_root", "merge_list"):
        parts = spec["parts"]
        order = range(len(parts)) if kind == "merge_root" else spec["order"]
        rows = []
        for k in order:
            sub, pkind, _, pn, _ = parts[k]
            rows += _part_rows(pkind, f"{name}/{sub}", pn)
        return rows, [_expect_plain(r) for r in rows]
    if name == "mds_scalars":
        pairs = [_scalars_row(rng, i) for i in range(n)]
        return [p[0] for p in pairs], [p[1] for p in pairs]
    if name == "mds_ndarrays":
        pairs = [_ndarrays_row(rng, i) for i in range(n)]
        return [p[0] for p in pairs], [p[1] for p in pairs]
    if name == "mds_images":
        os.makedirs(workdir, exist_ok=True)
        pairs = [_images_row(rng, i, workdir) for i in range(n)]
        return [p[0] for p in pairs], [p[1] for p in pairs]
    if name == "mds_objects":
        rows = [{"id": i, "pk": _PKL_VALUES[i], "js": _json_value(rng, i)} for i in range(n)]
        expected = [{"id": r["id"], "pk": r["pk"], "js": _roundtrip_json(r["js"])} for r in rows]
        return rows, expected
    if name == "edge_oversize_first":
        sizes = [500, 10, 20, 5, 600, 0, 250, 30]
        rows = [{"blob": rng.bytes(s), "id": i} for i, s in enumerate(sizes[:n])]
        return rows, rows
    if name in ("edge_json_oversize_first", "edge_csv_oversize_first"):
        rows = [_text_row(rng, i) for i in range(n)]
        rows[0]["text"] = "a long first row and longer than the size limit " * 2
        return rows, [_expect_plain(r) for r in rows]
    if name == "edge_unsorted_columns":
        rows = [
            {
                "zeta": i, "alpha": _text(rng), "Mid": rng.bytes(i), "éclair": np.float32(i / 3),
                "_u": _array(rng, "uint8", (2,)), "a b": f"space {i}", "Zed": -(10**20) * i,
            }
            for i in range(n)
        ]  # fmt: skip
        return rows, [_expect_plain(r) for r in rows]
    if name == "edge_unsorted_csv":
        rows = [{"zeta": i, "Alpha": _text(rng), "mid": i / 8} for i in range(n)]
        return rows, rows
    if name == "edge_passthrough":
        return _passthrough_rows(rng, n)
    if name.startswith("lenient_") and name.endswith("extra_keys"):
        base = [_mixed(rng, i) if kind == "mds" else _text_row(rng, i) for i in range(n)]
        rows = [{**r, "extra": i, "zz_unused": "dropped"} for i, r in enumerate(base)]
        return rows, [_expect_plain(r) for r in base]
    if name == "lenient_scalar_casts":
        rows = [
            {"u8": np.int64(200), "f32": 3, "i16": np.float64(2.0), "f16": np.float32(0.5)},
            {"u8": np.uint16(7), "f32": np.float64(0.1), "i16": True, "f16": 65504},
            {"u8": np.int8(5), "f32": np.int32(-8), "i16": np.uint8(255), "f16": 1e-3},
            {"u8": False, "f32": np.float16(1.5), "i16": -32768, "f16": np.int16(-3)},
        ][:n]
        expected = [{k: np.dtype(spec["columns"][k]).type(v) for k, v in r.items()} for r in rows]
        return rows, expected
    if kind == "mds":
        rows = [_mixed(rng, i) for i in range(n)]
        return rows, [_expect_plain(r) for r in rows]
    rows = [_text_row(rng, i) for i in range(n)]
    return rows, [_expect_plain(r) for r in rows]


def _expect_plain(row: dict) -> dict:
    return {k: np.ascontiguousarray(v) if isinstance(v, np.ndarray) else v for k, v in row.items()}


def _passthrough_rows(rng: np.random.Generator, n: int) -> tuple[list[dict], list[dict]]:
    rows, expected = [], []
    for i in range(n):
        img = _image(rng, "RGB")
        arr = _array(rng, "int16", (2,))
        value = {"i": i * 11, "s": f"s{i}", "j": img, "f": i / 4, "arr": arr}
        if i % 2:  # every column given as already-encoded bytes
            row = {
                "i": np.int64(i * 11).tobytes(),
                "s": f"s{i}".encode(),
                "j": _jpeg_bytes(img, quality=30),
                "f": np.float64(i / 4).tobytes(),
                "arr": arr.tobytes(),
            }
            exp = {**value, "j": _reopen(row["j"]), "f": np.float64(i / 4)}
        else:
            row = value
            exp = {**value, "j": _reopen(_jpeg_bytes(img)), "f": np.float64(i / 4)}
        rows.append(row)
        expected.append(exp)
    return rows, expected


# -- writing -------------------------------------------------------------------------------------


def _write_one(api: dict, kind: str, columns: dict, out: str, rows: list[dict], kwargs: dict):
    cls = api[kind]
    with cls(out=out, columns=dict(columns), **kwargs) as writer:
        for row in rows:
            writer.write(row)


def write_spec(spec: dict, out: str, api: dict, workdir: str) -> None:
    """Write `spec` to the new directory `out` with the writers and merge_index of `api`."""
    kind = spec["kind"]
    if kind in ("merge_root", "merge_list"):
        for sub, pkind, columns, pn, kwargs in spec["parts"]:
            rows = _part_rows(pkind, f"{spec['name']}/{sub}", pn)
            _write_one(api, pkind, columns, os.path.join(out, sub), rows, kwargs)
        if kind == "merge_root":
            api["merge_index"](out)
        else:
            urls = [os.path.join(out, spec["parts"][k][0], "index.json") for k in spec["order"]]
            api["merge_index"](urls, out)
        return
    rows, _ = make_samples(spec, workdir)
    _write_one(api, kind, spec["columns"], out, rows, spec["kwargs"])


# -- digests -------------------------------------------------------------------------------------


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest(v: Any) -> Any:
    """An exact, JSON-able fingerprint of a decoded value: its type and every byte of it."""
    t = type(v)
    if v is None:
        return ["none"]
    if t is bool:
        return ["bool", v]
    if t is int:
        return ["int", str(v)]
    if t is float:
        return ["float", v.hex()]
    if t is complex:
        return ["complex", v.real.hex(), v.imag.hex()]
    if t is str:
        return ["str", v]
    if t in (bytes, bytearray):
        return [t.__name__, bytes(v).hex()]
    if t is Decimal:
        return ["decimal", str(v)]
    if isinstance(v, np.ndarray):
        return ["ndarray", v.dtype.str, list(v.shape), _sha(np.ascontiguousarray(v).tobytes())]
    if isinstance(v, np.generic):
        return ["numpy", v.dtype.str, v.tobytes().hex()]
    if isinstance(v, Image.Image):
        return ["image", v.format, v.mode, list(v.size), _sha(v.tobytes())]
    if t in (list, tuple):
        return [t.__name__, [digest(x) for x in v]]
    if t is dict:
        return ["dict", [[digest(k), digest(x)] for k, x in v.items()]]
    if t in (set, frozenset):
        return [t.__name__, sorted(json.dumps(digest(x)) for x in v)]
    return ["unknown", f"{t.__module__}.{t.__qualname__}", repr(v)[:200]]


def digest_sample(sample: dict) -> dict:
    """`digest` of each column of a decoded sample, keyed by column name."""
    return {str(k): digest(sample[k]) for k in sorted(sample)}
