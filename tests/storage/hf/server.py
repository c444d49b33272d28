"""Start our loopback Hub (`tests.storage.hf.hub_server`) as its own process.

    server = start_hub(root)          # ready; server.endpoint is its URL (for HF_ENDPOINT)
    create_repo(root, "org/name")     # a private dataset repository, empty
    server.stop()
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.storage._server import ServerProcess, free_port

__all__ = ["HubServer", "start_hub", "TOKEN", "READ_TOKEN"]

#: The token that may read and write every repository, and one that may only read.
TOKEN = "hf_testwritetoken0123456789abcdefghij"
READ_TOKEN = "hf_testreadtoken0123456789abcdefghijk"
_REPO_ROOT = Path(__file__).resolve().parents[3]


class HubServer(ServerProcess):
    """A running loopback Hub serving the repositories under `root`."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.endpoint = f"http://127.0.0.1:{port}"
        super().__init__(
            "hub",
            [sys.executable, "-m", "tests.storage.hf.hub_server", "--root", str(root),
             "--port", str(port), "--token", TOKEN, "--read-token", READ_TOKEN],
            ready_url=f"{self.endpoint}/_fake/ready",
            cwd=str(_REPO_ROOT),
        )

    def requests(self) -> list[str]:
        """``METHOD path`` of every request so far."""
        log = self.root / "requests.log"
        return log.read_text().splitlines() if log.exists() else []


def start_hub(root: Path) -> HubServer:
    """Start the Hub on a free loopback port and wait until it answers."""
    server = HubServer(root, free_port())
    server.start()
    return server
