"""Stream: the peer's checks and defaults, and fetching from a local-path remote."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streaming.storage import download as fetch_file
from streaming.stream import Stream


def test_defaults_fill_only_unset_settings(tmp_path: Path) -> None:
    stream = Stream(local=str(tmp_path), download_retry=5, keep_zip=None)
    stream.apply_default(
        {
            "split": "train",
            "download_retry": 2,
            "download_timeout": 30,
            "validate_hash": "xxh64",
            "keep_zip": False,
        }
    )
    assert stream.split == "train" and stream.download_retry == 5
    assert stream.download_timeout == 30 and stream.validate_hash == "xxh64"
    assert stream.keep_zip is False and stream.safe_keep_zip  # no remote: zips are kept
    assert stream.dirname == os.path.join(str(tmp_path), "train")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"download_retry": -1}, "download_retry"),
        ({"download_timeout": 0}, "download_timeout"),
        ({"proportion": -0.5}, "proportion"),
        ({"repeat": 1, "choose": 3}, "at most one"),
    ],
)
def test_bad_settings(tmp_path: Path, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Stream(local=str(tmp_path), **kwargs)


def test_needs_a_remote_or_local() -> None:
    with pytest.raises(ValueError, match="neither"):
        Stream()


def test_fetch_file(tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(b"abc")
    fetch_file(src.as_uri(), str(tmp_path / "out" / "a.bin"))
    fetch_file(str(src), str(tmp_path / "out" / "b.bin"))
    assert (tmp_path / "out" / "a.bin").read_bytes() == (tmp_path / "out" / "b.bin").read_bytes()
    assert sorted(os.listdir(tmp_path / "out")) == ["a.bin", "b.bin"]  # no temporary left
    with pytest.raises(FileNotFoundError, match="does not exist"):
        fetch_file(str(tmp_path / "missing"), str(tmp_path / "c.bin"))
    with pytest.raises(ValueError, match="at least 1"):
        fetch_file(str(src), str(tmp_path / "d.bin"), attempts=0)
