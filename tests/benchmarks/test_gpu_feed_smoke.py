"""`benchmarks/gpu_feed.py` runs unchanged where there is no GPU (a tiny CPU run), so the GPU
run it is written for does not fail on a typo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_gpu_feed_smoke_on_cpu(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "gpu_feed.py"), "--device", "cpu",
         "--arch", "resnet18", "--images", "32", "--batch", "4", "--steps", "2", "--warmup", "1",
         "--workers", "1", "--data", str(tmp_path / "data"), "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert all(figures[k] > 0 for k in ("synthetic", "cpu decode", "device decode"))
    assert 60_000 < figures["mean_jpeg_bytes"] < 120_000  # ImageNet-like JPEGs
    assert "| device decode |" in proc.stdout
