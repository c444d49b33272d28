"""Write a dataset to our loopback Data Lake with our writers, stream it back."""

from __future__ import annotations

from pathlib import Path

from streaming.format.index import INDEX_BASENAME
from tests.storage._e2e import MDS_COLUMNS, check_streaming, make_samples, write_mds


def test_mds_zstd_round_trip(filesystem: tuple[str, Path], tmp_path: Path) -> None:
    name, root = filesystem
    samples = make_samples(300)
    write_mds(f"azure-dl://{name}/ds", samples)
    names = sorted(p.name for p in (root / "ds").iterdir())
    assert INDEX_BASENAME in names and len(names) >= 5
    check_streaming(f"azure-dl://{name}/ds", tmp_path / "cache", samples, MDS_COLUMNS)
