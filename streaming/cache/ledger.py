"""The cache's own records about a stream directory, kept in its meta directory.

* ``source.json``: which remote (and split) the directory mirrors, and the directory itself;
  written once, atomically, by the first process that uses the directory as a cache. `inventory`
  lists caches from these records (never by walking shared folders).
* ``files.log``: the files the cache downloaded (or decompressed) into the directory, and those
  it deleted since: one line per event, appended with a single ``write`` under the ledger lock,
  so a crash loses at most the line being written and a reader skips a torn last line. The
  replayed log is the set of files ``streaming cache clean`` may delete (nothing else in the
  directory is ever deleted), and the sum of their sizes is the directory's cache usage: a
  reader keeps its replay and its offset, so accounting costs O(1) per fetch, not a stat of
  every shard. `compact` rewrites the log atomically (temporary file, rename).
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote, unquote

from streaming.cache.locks import exclusive, lock_path
from streaming.cache.paths import meta_dir
from streaming.cache.safefs import open_nofollow
from streaming.format.files import write_atomic

__all__ = ["SOURCE", "LOG", "Ledger", "read_source", "write_source"]

SOURCE = "source.json"
LOG = "files.log"


def read_source(meta: str) -> dict | None:
    """The ``source.json`` record of the meta directory `meta` (None if there is none)."""
    try:
        fd = open_nofollow(os.path.join(meta, SOURCE), os.O_RDONLY)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, encoding="utf-8") as f:
        return json.load(f)


def write_source(meta: str, record: dict) -> None:
    """Write ``source.json`` of `meta` atomically."""
    write_atomic(os.path.join(meta, SOURCE), [json.dumps(record, sort_keys=True).encode()])


class Ledger:
    """The log of the files the cache put in the stream directory `dirname`."""

    def __init__(self, dirname: str) -> None:
        self.dirname = dirname
        self.path = os.path.join(meta_dir(dirname), LOG)
        self._files: dict[str, int] = {}
        self._offset = 0
        self._inode: tuple[int, int] | None = None

    def _append(self, lines: list[str]) -> None:
        data = "".join(lines).encode("utf-8")
        with exclusive(lock_path(self.dirname, "ledger")):
            fd = open_nofollow(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)

    def add(self, names_sizes: dict[str, int]) -> None:
        """Record that the cache wrote these files (name relative to `dirname`: bytes)."""
        if names_sizes:
            self._append([f"+ {size} {quote(name)}\n" for name, size in names_sizes.items()])

    def remove(self, names: list[str]) -> None:
        """Record that the cache deleted these files."""
        if names:
            self._append([f"- 0 {quote(name)}\n" for name in names])

    def files(self) -> dict[str, int]:
        """The files the cache wrote and has not deleted, with their sizes (reads only what
        was appended since the last call)."""
        try:
            fd = open_nofollow(self.path, os.O_RDONLY)
        except FileNotFoundError:
            self._files, self._offset, self._inode = {}, 0, None
            return {}
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if (st.st_dev, st.st_ino) != self._inode or st.st_size < self._offset:
                self._files, self._offset, self._inode = {}, 0, (st.st_dev, st.st_ino)
            f.seek(self._offset)
            data = f.read()
        end = data.rfind(b"\n") + 1  # a torn last line is read again next time
        for line in data[:end].decode("utf-8", "replace").splitlines():
            parts = line.split(" ", 2)
            if len(parts) != 3 or not parts[1].isdigit():
                continue
            name = unquote(parts[2])
            if parts[0] == "+":
                self._files[name] = int(parts[1])
            elif parts[0] == "-":
                self._files.pop(name, None)
        self._offset += end
        return dict(self._files)

    def usage(self) -> int:
        """Bytes of the files the cache wrote into the directory and has not deleted."""
        return sum(self.files().values())

    def compact(self) -> None:
        """Rewrite the log as one ``+`` line per live file, atomically."""
        with exclusive(lock_path(self.dirname, "ledger")):
            live = self.files()
            lines = [f"+ {size} {quote(name)}\n" for name, size in sorted(live.items())]
            write_atomic(self.path, ["".join(lines).encode("utf-8")])
