"""Writer edge cases, asserted on both our output and the peer's (facts observed from 0.13.0).

The byte comparison in test_same_bytes covers these too; these tests say which fact broke, and
check that each edge case really is exercised.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.interop._support import LENIENT, SPECS, file_infos, list_files, read_index

pytestmark = pytest.mark.peer

WHO = ["ours", "peer"]


def index_of(who: str, name: str, ours_written: dict, peer_report: dict, root: Path) -> dict:
    if who == "ours":
        assert ours_written[name] is None, f"our writer failed on {name!r}:\n{ours_written[name]}"
    else:
        assert peer_report["write_errors"].get(name) is None, peer_report["write_errors"][name]
    return read_index(root / who / name)


def shard_layout(index: dict) -> list[tuple[int, int]]:
    return [(s["samples"], s["raw_data"]["bytes"]) for s in index["shards"]]


@pytest.fixture
def index(ours_written: dict, peer_report: dict, interop_root: Path):
    return lambda who, name: index_of(who, name, ours_written, peer_report, interop_root)


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize(
    ("name", "layout"),
    [
        # A first sample larger than size_limit: a 0-sample shard comes first.
        ("edge_oversize_first",
         [(0, 190), (1, 706), (3, 273), (1, 806), (1, 206), (1, 456), (1, 236)]),
        ("edge_json_oversize_first",
         [(0, 0), (1, 134), (1, 86), (1, 63), (1, 64), (1, 84), (1, 81)]),
        ("edge_csv_oversize_first",
         [(0, 14), (1, 121), (1, 51), (1, 38), (1, 57), (1, 44), (1, 41)]),
        ("edge_size_str", [(6, 1014), (7, 1006), (7, 943), (6, 930), (4, 617)]),
        ("edge_size_str_upper", [(17, 2025), (13, 1846)]),
        ("edge_size_none", [(40, 4805)]),
        ("edge_size_zero", [(10, 1318)]),
    ],
)  # fmt: skip
def test_shard_split(who: str, name: str, layout: list, index) -> None:
    assert shard_layout(index(who, name)) == layout


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize(
    ("name", "size_limit"),
    [
        ("edge_size_str", 1024),
        ("edge_size_str_upper", 2048),
        ("edge_size_none", None),
        ("edge_size_zero", None),
        ("comp_none", 1200),
    ],
)
def test_size_limit_recorded(who: str, name: str, size_limit: int | None, index) -> None:
    assert {s["size_limit"] for s in index(who, name)["shards"]} == {size_limit}


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("name", ["edge_empty", "edge_empty_json", "edge_empty_csv_zstd"])
def test_empty_dataset(who: str, name: str, index, interop_root: Path) -> None:
    index(who, name)
    assert list_files(interop_root / who / name) == ["index.json"]
    assert (
        interop_root / who / name / "index.json"
    ).read_bytes() == b'{"shards": [], "version": 2}'


@pytest.mark.parametrize("who", WHO)
def test_unsorted_columns_are_sorted_by_code_point(who: str, index, interop_root: Path) -> None:
    (shard,) = index(who, "edge_unsorted_columns")["shards"]
    assert shard["column_names"] == ["Mid", "Zed", "_u", "a b", "alpha", "zeta", "éclair"]
    assert shard["column_encodings"] == [
        "bytes", "str_int", "ndarray:uint8:2", "str", "str", "int", "float32",
    ]  # fmt: skip
    assert shard["column_sizes"] == [None, None, 2, None, None, 8, 4]
    csv = interop_root / who / "edge_unsorted_csv" / "shard.00000.csv"
    assert csv.read_bytes().startswith(b"Alpha,mid,zeta\n")


HASH_SPECS = [s for s in SPECS if "kwargs" in s and s.get("n") and s["name"] not in LENIENT]


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("spec", HASH_SPECS, ids=[s["name"] for s in HASH_SPECS])
def test_hashes_lists(who: str, spec: dict, index) -> None:
    """`hashes` is recorded exactly as given (duplicates too); each file has one per algorithm."""
    hashes = spec["kwargs"].get("hashes") or []
    idx = index(who, spec["name"])
    assert idx["shards"]
    for shard in idx["shards"]:
        assert shard["hashes"] == hashes
    for i, key, info in file_infos(idx):
        assert sorted(info["hashes"]) == sorted(set(hashes)), (i, key)
        for algo, value in info["hashes"].items():
            assert value == value.lower() and int(value, 16) >= 0, (i, key, algo)


@pytest.mark.parametrize("who", WHO)
def test_mds_shard_embeds_its_config(who: str, index, interop_root: Path) -> None:
    """The MDS header: n, n+1 offsets, then the config JSON (index entry minus 3 keys)."""
    import numpy as np

    idx = index(who, "edge_unsorted_columns")
    (shard,) = idx["shards"]
    blob = (interop_root / who / "edge_unsorted_columns" / "shard.00000.mds").read_bytes()
    n = int(np.frombuffer(blob, "<u4", 1)[0])
    offsets = np.frombuffer(blob, "<u4", n + 1, 4)
    config = {k: v for k, v in shard.items() if k not in ("samples", "raw_data", "zip_data")}
    text = json.dumps(config, sort_keys=True).encode()
    assert n == shard["samples"] == 10
    assert blob[4 + 4 * (n + 1) : offsets[0]] == text
    assert offsets[-1] == len(blob)
