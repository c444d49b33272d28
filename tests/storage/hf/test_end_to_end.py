"""Write datasets to our loopback Hub with our writers, stream them back with StreamingDataset."""

from __future__ import annotations

from pathlib import Path

import pytest

from streaming.format.index import INDEX_BASENAME
from tests.storage._e2e import (
    JSON_COLUMNS,
    MDS_COLUMNS,
    check_streaming,
    make_samples,
    write_json,
    write_mds,
)
from tests.storage._peer_reads import check_peer_reads
from tests.storage.hf.server import HubServer


def test_mds_zstd_round_trip(repo: tuple[str, Path], tmp_path: Path) -> None:
    repo_id, files = repo
    samples = make_samples(300)
    write_mds(f"hf://datasets/{repo_id}/ds", samples)
    names = sorted(p.name for p in (files / "ds").iterdir())
    assert INDEX_BASENAME in names and len(names) >= 5
    check_streaming(f"hf://datasets/{repo_id}/ds", tmp_path / "cache", samples, MDS_COLUMNS)


def test_json_round_trip(repo: tuple[str, Path], tmp_path: Path) -> None:
    repo_id, files = repo
    samples = make_samples(250, seed=1)
    write_json(f"hf://datasets/{repo_id}/json", samples)
    assert (files / "json" / INDEX_BASENAME).is_file()
    check_streaming(f"hf://datasets/{repo_id}/json/", tmp_path / "cache", samples, JSON_COLUMNS)


@pytest.mark.peer
@pytest.mark.slow
def test_peer_streams_what_we_wrote(mosaic_python: Path, hub: HubServer, repo: tuple[str, Path],
                                    tmp_path: Path) -> None:
    repo_id, _ = repo
    samples = make_samples(400, seed=3)
    write_mds(f"hf://datasets/{repo_id}/ds", samples, size_limit=40 << 10, compression=None)
    check_peer_reads(mosaic_python, f"hf://datasets/{repo_id}/ds", tmp_path / "peer", samples)
    cdn = [r for r in hub.requests() if r.startswith(f"GET /cdn/{repo_id}/")]
    assert cdn, "no shard was large enough to go through the CDN redirect"
