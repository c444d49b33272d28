"""Our writers and merge_index produce the peer's files byte for byte.

gz embeds the time (gzip MTIME), so for gz the compressed files are compared with that field
zeroed and after decompression, and the index with the gz files' hashes blanked (sizes kept).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from streaming import merge_index
from tests.interop._compare import assert_same_bytes, assert_same_dataset
from tests.interop._support import SPECS, STRICT_NAMES, copy_dataset

pytestmark = pytest.mark.peer

MERGES = [s for s in SPECS if "parts" in s]


def both_dirs(name: str, ours_written: dict, peer_report: dict, interop_root: Path):
    assert peer_report["write_errors"].get(name) is None, peer_report["write_errors"][name]
    assert ours_written[name] is None, f"our writer failed on {name!r}:\n{ours_written[name]}"
    return interop_root / "ours" / name, interop_root / "peer" / name


@pytest.mark.parametrize("name", STRICT_NAMES)
def test_same_files_as_peer(
    name: str, ours_written: dict, peer_report: dict, interop_root: Path
) -> None:
    assert_same_dataset(*both_dirs(name, ours_written, peer_report, interop_root), name)


@pytest.mark.parametrize("spec", MERGES, ids=[s["name"] for s in MERGES])
def test_our_merge_of_peer_parts_is_the_peers(
    spec: dict, peer_report: dict, peer_root: Path, tmp_path: Path
) -> None:
    """merge_index alone (on the peer's own parts), both call forms, byte for byte."""
    assert peer_report["write_errors"].get(spec["name"]) is None
    peer = peer_root / spec["name"]
    out = copy_dataset(peer, tmp_path / "merged")
    os.unlink(out / "index.json")
    if spec["kind"] == "merge_root":
        merge_index(str(out))
    else:
        merge_index(
            [str(out / spec["parts"][k][0] / "index.json") for k in spec["order"]], str(out)
        )
    assert_same_bytes(
        (out / "index.json").read_bytes(), (peer / "index.json").read_bytes(), "merged index"
    )


@pytest.mark.parametrize("spec", MERGES, ids=[s["name"] for s in MERGES])
def test_merged_index_layout(
    spec: dict, ours_written: dict, peer_report: dict, interop_root: Path
) -> None:
    """The merged index: unsorted keys, parts in call (or sorted) order, prefixed basenames."""
    order = range(len(spec["parts"])) if spec["kind"] == "merge_root" else spec["order"]
    for root in both_dirs(spec["name"], ours_written, peer_report, interop_root):
        raw = (root / "index.json").read_bytes()
        assert raw.startswith(b'{"version": 2, "shards": [{"column')
        shards = json.loads(raw)["shards"]
        prefixes = []
        for shard in shards:
            for key in ("raw_data", "zip_data", "raw_meta", "zip_meta"):
                if shard.get(key):
                    prefix, base = shard[key]["basename"].split("/")
                    assert (root / prefix / base).is_file() or key.startswith("raw")
            prefix = shard["raw_data"]["basename"].split("/")[0]
            if not prefixes or prefixes[-1] != prefix:
                prefixes.append(prefix)
        assert prefixes == [spec["parts"][k][0] for k in order]
