"""The peer (mosaicml-streaming 0.13.0) writes every spec; our `LocalDataset` reads it exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from streaming import LocalDataset
from tests.interop._compare import assert_digests
from tests.interop._support import EMPTY, SPEC_NAMES, SPECS, copy_dataset, read_index
from tests.peers.scripts.interop_data import digest_sample

pytestmark = pytest.mark.peer

# Specs whose every shard records hashes, and which algorithms.
HASHED = {
    s["name"]: sorted(set(s["kwargs"]["hashes"]))
    for s in SPECS
    if "kwargs" in s and s["kwargs"].get("hashes") and s["name"] not in EMPTY
}


def peer_dataset(peer_report: dict, peer_root: Path, name: str) -> Path:
    error = peer_report["write_errors"].get(name)
    assert error is None, f"the peer could not write {name!r}:\n{error}"
    return peer_root / name


def digests(samples) -> list[dict]:
    return [digest_sample(s) for s in samples]


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_we_read_peer_dataset(
    name: str, peer_report: dict, peer_root: Path, expected: dict, tmp_path: Path
) -> None:
    src = copy_dataset(peer_dataset(peer_report, peer_root, name), tmp_path / "ds")
    ds = LocalDataset(str(src), allow_unsafe_types=True)
    exp = expected[name]
    n = len(exp)
    assert len(ds) == n
    assert ds.size == n
    assert_digests(digests(ds), exp, f"{name}: iteration")
    assert_digests(digests(ds[i] for i in range(n)), exp, f"{name}: ds[i]")
    assert_digests(digests(ds[:]), exp, f"{name}: ds[:]")
    assert_digests(digests(ds[::-3]), exp[::-3], f"{name}: ds[::-3]")
    assert_digests(digests(ds[1:7:2]), exp[1:7:2], f"{name}: ds[1:7:2]")
    if n:
        assert digest_sample(ds[-1]) == exp[-1]
        idx = [n - 1, 0, n // 2, 0]
        assert_digests(digests(ds[idx]), [exp[i] for i in idx], f"{name}: ds[list]")
        assert_digests(digests(ds[np.array(idx)]), [exp[i] for i in idx], f"{name}: ds[array]")
    with pytest.raises(IndexError):
        ds[n]


@pytest.mark.parametrize("name", ["mds_scalars", "json_zstd", "tsv_plain"])
def test_we_read_peer_dataset_as_split(
    name: str, peer_report: dict, peer_root: Path, expected: dict, tmp_path: Path
) -> None:
    copy_dataset(peer_dataset(peer_report, peer_root, name), tmp_path / "train")
    ds = LocalDataset(str(tmp_path), split="train")
    assert_digests(digests(ds), expected[name], f"{name} as split 'train'")


@pytest.mark.parametrize("name", sorted(HASHED))
def test_we_validate_peer_hashes(
    name: str, peer_report: dict, peer_root: Path, expected: dict, tmp_path: Path
) -> None:
    src = peer_dataset(peer_report, peer_root, name)
    for algo in HASHED[name]:
        copy = copy_dataset(src, tmp_path / algo)
        ds = LocalDataset(str(copy), allow_unsafe_types=True, validate_hash=algo)
        assert_digests(digests(ds), expected[name], f"{name} with validate_hash={algo!r}")


@pytest.mark.parametrize(
    "name", ["comp_none", "mds_scalars", "comp_zstd", "comp_gz", "json_plain", "csv_bz2"]
)
def test_we_detect_a_corrupt_peer_shard(
    name: str, peer_report: dict, peer_root: Path, tmp_path: Path
) -> None:
    """validate_hash really checks the peer's recorded hashes: one flipped byte fails."""
    copy = copy_dataset(peer_dataset(peer_report, peer_root, name), tmp_path / "ds")
    shard = next(s for s in read_index(copy)["shards"] if s["samples"])
    info = shard["zip_data"] or shard["raw_data"]
    path = copy / info["basename"]
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 0x01  # the last byte: sample data, or the end of the compressed stream
    path.write_bytes(bytes(blob))
    ds = LocalDataset(str(copy), validate_hash=HASHED[name][0])
    with pytest.raises(ValueError, match="Checksum failure"):
        for i in range(len(ds)):
            ds[i]


def test_we_refuse_peer_pickles_unless_allowed(
    peer_report: dict, peer_root: Path, tmp_path: Path
) -> None:
    copy = copy_dataset(peer_dataset(peer_report, peer_root, "mds_objects"), tmp_path / "ds")
    with pytest.raises(ValueError, match="allow_unsafe_types"):
        ds = LocalDataset(str(copy))
        ds[0]
