"""The peer (mosaicml-streaming 0.13.0, in its own venv) streams a dataset our writers put on a
remote, through its own downloader for that scheme: every sample must come back intact."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tests.peers.runner import run_peer

_PEER_READS = """
import hashlib, json, sys
from streaming import StreamingDataset
ds = StreamingDataset(remote=sys.argv[1], local=sys.argv[2], shuffle=False, batch_size=1)
print(json.dumps([[int(s["id"]), hashlib.sha1(s["data"]).hexdigest()] for s in ds]))
"""


def check_peer_reads(python: Path, remote: str, cache: Path,
                     samples: list[dict[str, Any]]) -> None:
    """Stream `remote` with the peer into `cache` (the environment passes to it as it is)."""
    got = json.loads(run_peer(python, _PEER_READS, remote, str(cache)).splitlines()[-1])
    assert got == [[s["id"], hashlib.sha1(s["data"]).hexdigest()] for s in samples]
