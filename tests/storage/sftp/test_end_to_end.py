"""Write datasets over SFTP with our writers, stream them back with StreamingDataset."""

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
from tests.storage.sftp.server import SSHDServer


def test_mds_zstd_round_trip(sshd: SSHDServer, remote_dir: Path, tmp_path: Path) -> None:
    samples = make_samples(300)
    write_mds(sshd.url(f"{remote_dir}/ds"), samples)
    names = sorted(p.name for p in (remote_dir / "ds").iterdir())
    shards = [n for n in names if n != INDEX_BASENAME]
    assert INDEX_BASENAME in names and len(shards) >= 4
    assert all(n.startswith("shard.") and n.endswith(".mds.zstd") for n in shards)
    check_streaming(sshd.url(f"{remote_dir}/ds"), tmp_path / "cache", samples, MDS_COLUMNS)


def test_json_round_trip(sshd: SSHDServer, remote_dir: Path, tmp_path: Path) -> None:
    samples = make_samples(250, seed=1)
    write_json(sshd.url(f"{remote_dir}/json"), samples)
    assert (remote_dir / "json" / INDEX_BASENAME).is_file()
    check_streaming(sshd.url(f"{remote_dir}/json/"), tmp_path / "cache", samples, JSON_COLUMNS)


@pytest.mark.peer
@pytest.mark.slow
def test_peer_streams_what_we_wrote(mosaic_python: Path, sshd: SSHDServer, remote_dir: Path,
                                    tmp_path: Path) -> None:
    samples = make_samples(120, seed=3)
    write_mds(sshd.url(f"{remote_dir}/ds"), samples)
    check_peer_reads(mosaic_python, sshd.url(f"{remote_dir}/ds"), tmp_path / "peer", samples)
