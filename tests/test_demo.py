"""`make demo` converts the bundled digits and checks every sample; it must keep working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_demo_converts_and_verifies_every_sample(tmp_path: Path) -> None:
    out = tmp_path / "digits"
    proc = subprocess.run(
        [sys.executable, "-m", "streaming.cli.demo", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "read back 1797 samples" in proc.stdout
    assert "none lost, none repeated" in proc.stdout
    assert "resumed epoch == uninterrupted epoch, sample for sample" in proc.stdout
    assert (out / "index.json").exists()
