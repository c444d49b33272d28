"""Run code inside a peer library's own venv (mosaicml-streaming or litdata).

The peers are never imported into our venv (mosaicml-streaming is also `import streaming`), so
tests hand them a script and read back what it prints or writes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def peer_venv(name: str) -> Path:
    """Build (once, cached under ~/.cache/streaming-dev) and return the venv of peer `name`."""
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "peer_venv.sh"), name],
        stdout=subprocess.PIPE,
        stderr=sys.stderr,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"Could not build the {name} peer venv (exit {proc.returncode})")
    return Path(proc.stdout.strip().splitlines()[-1])


def run_peer(python: Path, code: str, *args: str, timeout: float = 600) -> str:
    """Run `code` with the peer's interpreter; return its stdout, raising with stderr on failure."""
    proc = subprocess.run(
        [str(python), "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd="/",  # never let the peer import our ./streaming by accident
    )
    if proc.returncode != 0:
        raise RuntimeError(f"peer script failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc.stdout
