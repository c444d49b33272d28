"""A real local backend with knobs, for the cache tests: scheme ``counting://``.

``counting:///abs/dir/file`` reads ``/abs/dir/file``. Every download appends the file's basename
to ``/abs/dir.log`` (O_APPEND: whole lines, whatever the number of processes), so tests count
fetches across processes. Files beside the remote directory change behaviour:
``/abs/dir.slow`` (seconds to sleep in each download, after writing half of the file to the
temporary name) and ``/abs/dir.corrupt`` (a number: that many first downloads of each shard get
one byte flipped).

Each process that uses the scheme calls `register()`.
"""

from __future__ import annotations

import os
import shutil
import time
from urllib.parse import urlparse

from streaming.storage import registry
from streaming.storage.base import ObjectNotFoundError, atomic_download_path
from streaming.storage.local import LocalBackend


def register() -> None:
    registry.SCHEMES["counting"] = ("tests.cache._backends", "CountingBackend", None)


def fetch_log(remote_dir: str) -> list[str]:
    """Basenames downloaded from `remote_dir` so far, in order, by every process."""
    try:
        with open(remote_dir.rstrip("/") + ".log", encoding="utf-8") as f:
            return f.read().split()
    except FileNotFoundError:
        return []


def _knob(root: str, name: str, default: float) -> float:
    try:
        with open(f"{root}.{name}", encoding="utf-8") as f:
            return float(f.read())
    except FileNotFoundError:
        return default


class CountingBackend(LocalBackend):
    schemes = ("counting",)

    @staticmethod
    def _path(url: str) -> str:
        return urlparse(url).path

    def download_file(self, remote_url: str, local_path: str, timeout: float = 60) -> None:
        source = self._path(remote_url)
        root = os.path.dirname(source)
        name = os.path.basename(source)
        if not os.path.isfile(source):
            raise ObjectNotFoundError(f"Remote file {remote_url!r} does not exist")
        previous = fetch_log(root).count(name)
        fd = os.open(root + ".log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{name}\n".encode())
        finally:
            os.close(fd)
        with atomic_download_path(local_path) as tmp:
            slow = _knob(root, "slow", 0)
            with open(source, "rb") as f:
                data = f.read()
            if previous < _knob(root, "corrupt", 0) and name != "index.json":
                data = data[:-1] + bytes([data[-1] ^ 0xFF])
            with open(tmp, "wb") as out:
                out.write(data[: len(data) // 2])
                out.flush()
                time.sleep(slow)
                out.write(data[len(data) // 2 :])

    def upload_file(self, local_path: str, remote_url: str) -> None:
        shutil.copyfile(local_path, self._path(remote_url))
