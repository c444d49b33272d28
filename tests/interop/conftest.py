"""Session fixtures of the interop suite: every spec written by us and by the peer, once.

The peer's interpreter starts once per session (its import takes seconds): one run of
tests/peers/scripts/mosaic_interop.py writes the peer's datasets and reads back both ours and
its own. Tests copy a dataset before reading it, since a reader may decompress shards in place.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.interop._support import SPECS, run_peer_script, write_all_ours
from tests.peers.scripts import interop_data as data


@pytest.fixture(scope="session")
def interop_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("interop")


@pytest.fixture(scope="session")
def ours_written(interop_root: Path) -> dict[str, str | None]:
    """Every spec written by our library under interop_root/ours: name -> error or None."""
    return write_all_ours(interop_root / "ours", interop_root / "ours-src")


@pytest.fixture(scope="session")
def peer_report(mosaic_python: Path, interop_root: Path, ours_written: dict) -> dict:
    """The peer writes every spec (interop_root/peer), then reads ours and its own."""
    report_path = interop_root / "peer-report.json"
    run_peer_script(
        mosaic_python,
        "mosaic_interop.py",
        "--work", str(interop_root / "peer-work"),
        "--write", str(interop_root / "peer"),
        "--read", f"ours={interop_root / 'ours'}",
        "--read", f"peer={interop_root / 'peer'}",
        "--report", str(report_path),
        tmpdir=interop_root / "peer-tmp",
    )  # fmt: skip
    with open(report_path) as f:
        return json.load(f)


@pytest.fixture(scope="session")
def peer_root(peer_report: dict, interop_root: Path) -> Path:
    """The directory of the peer's datasets (written by the `peer_report` run)."""
    return interop_root / "peer"


@pytest.fixture(scope="session")
def expected(interop_root: Path) -> dict[str, list[dict]]:
    """Each spec's expected decoded samples, as digests."""
    out = {}
    for spec in SPECS:
        _, values = data.make_samples(spec, str(interop_root / "expected-src" / spec["name"]))
        out[spec["name"]] = [data.digest_sample(v) for v in values]
    return out
