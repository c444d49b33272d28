"""Comparing decoded samples (as digests) and files, with short messages that name the spot."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.interop._support import (
    COMPRESSED,
    gunzip,
    index_without_gz_hashes,
    list_files,
    mask_gzip,
)


def assert_digests(actual: list[dict], expected: list[dict], what: str) -> None:
    """Every sample digest equal; on failure name the first differing sample and column."""
    for i, (a, e) in enumerate(zip(actual, expected, strict=False)):
        if a != e:
            cols = sorted(set(a) | set(e))
            bad = [c for c in cols if a.get(c) != e.get(c)]
            col = bad[0]
            raise AssertionError(
                f"{what}: sample {i} differs in column(s) {bad}; {col!r}:\n"
                f"  got      {str(a.get(col))[:400]}\n  expected {str(e.get(col))[:400]}"
            )
    assert len(actual) == len(expected), f"{what}: {len(actual)} samples, expected {len(expected)}"


def assert_same_bytes(ours: bytes, peer: bytes, what: str) -> None:
    if ours == peer:
        return
    pairs = enumerate(zip(ours, peer, strict=False))
    at = next((i for i, (a, b) in pairs if a != b), min(len(ours), len(peer)))
    lo, hi = max(0, at - 40), at + 40
    raise AssertionError(
        f"{what}: ours is {len(ours)} bytes, the peer's {len(peer)}; first difference at byte "
        f"{at}:\n  ours {ours[lo:hi]!r}\n  peer {peer[lo:hi]!r}"
    )


def error_kind(message: str | None) -> str | None:
    """The exception type of a reported ``"Type: message"`` error."""
    return None if message is None else message.split(":", 1)[0]


def normalise_read(result: dict[str, Any]) -> dict[str, Any]:
    """A peer read result with timings dropped and error messages reduced to their type."""
    out = {}
    for key, value in result.items():
        if key.endswith("_s"):
            continue
        if key.endswith("error"):
            value = error_kind(value)
        elif key == "problems":
            value = [re.sub(r"/\S+", "<path>", p) for p in value]
        out[key] = value
    return out


def assert_same_dataset(ours: Path, peer: Path, name: str) -> None:
    """Same file list and bytes; gz files compared with MTIME zeroed, and after decompression,
    and an index with gz files compared with those files' hashes blanked (sizes kept)."""
    files = list_files(peer)
    assert list_files(ours) == files, f"{name}: file lists differ"
    for rel in files:
        a, b = (ours / rel).read_bytes(), (peer / rel).read_bytes()
        if rel.endswith("index.json") and b'"gz' in b:
            assert index_without_gz_hashes(a) == index_without_gz_hashes(b), f"{name}/{rel}"
        elif rel.endswith(".gz"):
            assert_same_bytes(gunzip(a), gunzip(b), f"{name}/{rel} decompressed")
            assert_same_bytes(mask_gzip(a), mask_gzip(b), f"{name}/{rel} (MTIME zeroed)")
        else:
            assert_same_bytes(a, b, f"{name}/{rel}")


def assert_peer_read(result: dict, exp: list[dict], name: str, who: str) -> None:
    """The peer's read of a dataset (mosaic_interop.py's report): no error, no file problem,
    every sample as expected from its StreamingDataset and (uncompressed) its LocalDataset."""
    errors = {k: v for k, v in result.items() if k.endswith("error")}
    assert not errors, f"the peer failed to read {who} {name!r}: {errors}"
    assert result["problems"] == [], f"{who} {name!r}: the peer's file checks: {result['problems']}"
    assert result["checks"] > 0
    assert_digests(result["streaming"], exp, f"peer StreamingDataset on {who} {name!r}")
    if name in COMPRESSED:
        assert "local" not in result
    else:
        assert_digests(result["local"], exp, f"peer LocalDataset on {who} {name!r}")
