"""Write datasets to a volume and to DBFS with our writers, stream them back."""

from __future__ import annotations

from pathlib import Path

from tests.storage._e2e import MDS_COLUMNS, check_streaming, make_samples, write_mds


def test_volume_round_trip(volume: tuple[str, Path], tmp_path: Path) -> None:
    samples = make_samples(300)
    write_mds(f"dbfs:{volume[0]}/ds", samples)
    assert (volume[1] / "ds" / "index.json").is_file()
    check_streaming(f"dbfs:{volume[0]}/ds", tmp_path / "cache", samples, MDS_COLUMNS)


def test_dbfs_round_trip(dbfs_dir: tuple[str, Path], tmp_path: Path) -> None:
    samples = make_samples(200, seed=2)
    write_mds(f"dbfs:{dbfs_dir[0]}/ds", samples)
    assert (dbfs_dir[1] / "ds" / "index.json").is_file()
    check_streaming(f"dbfs:{dbfs_dir[0]}/ds", tmp_path / "cache", samples, MDS_COLUMNS)
