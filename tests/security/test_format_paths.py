"""A hostile index.json cannot steer a decompressed shard's write outside its dataset directory.

Issue 14, item 2: with ``sub -> /elsewhere`` planted in a dataset directory and a shard whose raw
basename is ``sub/victim.txt`` (only its ``.zstd`` present), reading the shard replaced
``/elsewhere/victim.txt`` with the decompressed bytes; a basename of ``index.json`` overwrote the
dataset's own index.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from streaming.format import MDSWriter
from streaming.format.errors import IndexFormatError, ShardFormatError
from streaming.local import LocalDataset


def _dataset(path: Path) -> dict:
    """A one-shard zstd MDS dataset; returns its index."""
    with MDSWriter(out=str(path), columns={"id": "int", "text": "str"}, compression="zstd") as out:
        for i in range(5):
            out.write({"id": i, "text": f"sample {i}"})
    return json.loads((path / "index.json").read_bytes())


def _retarget(path: Path, index: dict, raw_basename: str) -> None:
    index["shards"][0]["raw_data"]["basename"] = raw_basename
    (path / "index.json").write_text(json.dumps(index))


def test_write_through_a_symlinked_directory_is_refused(tmp_path: Path) -> None:
    ds, elsewhere = tmp_path / "ds", tmp_path / "elsewhere"
    elsewhere.mkdir()
    victim = elsewhere / "victim.txt"
    victim.write_bytes(b"precious")
    index = _dataset(ds)
    (ds / "sub").symlink_to(elsewhere, target_is_directory=True)
    _retarget(ds, index, "sub/victim.txt")
    with pytest.raises(ShardFormatError) as info:
        LocalDataset(str(ds))[2]
    assert str(info.value) == (
        f"Refusing to write the decompressed shard 0 to its basename 'sub/victim.txt' in "
        f"{str(ds)!r}: it resolves to {str(victim)!r}, outside the dataset directory "
        f"{str(ds)!r}. The index.json is corrupt or hostile."
    )
    assert victim.read_bytes() == b"precious"


def test_write_onto_a_planted_symlink_is_refused(tmp_path: Path) -> None:
    ds, victim = tmp_path / "ds", tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    index = _dataset(ds)
    (ds / "shard.00000.mds").symlink_to(victim)  # the raw file's name, pointing out
    with pytest.raises(ShardFormatError, match="it is a symbolic link") as info:
        LocalDataset(str(ds))[0]
    assert "shard 0" in str(info.value) and "'shard.00000.mds'" in str(info.value)
    assert victim.read_bytes() == b"precious"
    assert json.loads((ds / "index.json").read_bytes()) == index


@pytest.mark.parametrize("basename", ["index.json", "./index.json", "a/../index.json"])
def test_basename_naming_the_index_is_refused(tmp_path: Path, basename: str) -> None:
    ds = tmp_path / "ds"
    index = _dataset(ds)
    _retarget(ds, index, basename)
    before = (ds / "index.json").read_bytes()
    with pytest.raises(IndexFormatError) as info:
        LocalDataset(str(ds))
    assert f"shard 0: raw_data.basename {basename!r} names the index" in str(info.value)
    assert (ds / "index.json").read_bytes() == before


def test_basename_reaching_the_index_through_a_link_is_refused(tmp_path: Path) -> None:
    """``loop -> .`` makes ``loop/index.json`` the index itself: only resolving tells."""
    ds = tmp_path / "ds"
    index = _dataset(ds)
    (ds / "loop").symlink_to(ds, target_is_directory=True)
    _retarget(ds, index, "loop/index.json")
    before = (ds / "index.json").read_bytes()
    with pytest.raises(ShardFormatError, match="resolves to the dataset's own index.json"):
        LocalDataset(str(ds))[0]
    assert (ds / "index.json").read_bytes() == before


def test_a_safe_nested_basename_still_decompresses(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    index = _dataset(ds)
    os.mkdir(ds / "part")
    _retarget(ds, index, "part/shard.00000.mds")
    assert LocalDataset(str(ds))[3] == {"id": 3, "text": "sample 3"}
    assert (ds / "part" / "shard.00000.mds").is_file()
