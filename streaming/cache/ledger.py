"""The cache's own records about a stream directory, kept in its meta directory.

* ``source.json``: which remote (and split) the directory mirrors, and the directory itself;
  written once, atomically, by the first process that uses the directory as a cache. `inventory`
  lists caches from these records (never by walking shared folders).
* ``files.log``: the files the cache downloaded (or decompressed) into the directory, those it
  deleted since, and when each was last used. One line per event::

      + <bytes> <quoted name> <time_ns>    the cache wrote the file (this is a use too)
      - 0 <quoted name> <time_ns>          the cache deleted it
      u 0 <quoted name> <time_ns>          a process used it (ignored if the file is not listed)

  Lines are appended with a single ``write`` under the ledger lock. A crash loses at most the
  lines being written: a reader consumes only whole lines, and the next writer that finds the
  log not ending in a newline first ends the torn line with ``!`` (a character a quoted name
  never holds), so the fragment is ignored instead of swallowing the next record. The replayed
  log is the set of files ``streaming cache clean`` may delete (nothing else in the directory
  is ever deleted), the sum of their sizes is the directory's cache usage, and the order of
  the last ``+``/``u`` line of each file is its least-recently-used order. A reader keeps its
  replay and its offset, so it reads each line once: accounting costs O(1) per fetch, not a
  stat of every shard. `compact` rewrites the log (one ``+ <bytes> <name>`` line per live file,
  in LRU order, without times: across directories those rank before any later use) atomically
  (temporary file, rename); `maybe_compact` does so once the log holds several times more lines
  than live files, so the log's length stays proportional to the cache.
"""

from __future__ import annotations

import json
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from urllib.parse import quote, unquote

from streaming.cache.locks import exclusive, lock_path
from streaming.cache.paths import meta_dir
from streaming.cache.safefs import open_nofollow
from streaming.format.files import write_atomic

__all__ = ["SOURCE", "LOG", "Entry", "Ledger", "read_source", "write_source"]

SOURCE = "source.json"
LOG = "files.log"

#: Ends a torn line (a quoted name never holds it), so that the fragment is never read as a record.
_TORN = b"!\n"


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


class Entry:
    """A live file of the ledger: its size, its last use (``time.time_ns()`` of the writer), and
    whether the ledger's `counted` predicate selects it."""

    __slots__ = ("size", "used", "counted")

    def __init__(self, size: int, used: int, counted: bool) -> None:
        self.size = size
        self.used = used
        self.counted = counted


def _parse(line: str) -> tuple[str, int, str, int] | None:
    """(op, size, name, time) of a whole line, or None for a torn or foreign one."""
    if "!" in line:
        return None
    parts = line.split(" ")
    if len(parts) not in (3, 4) or parts[0] not in ("+", "-", "u") or not parts[1].isdigit():
        return None
    if len(parts) == 4 and not parts[3].isdigit():
        return None
    used = int(parts[3]) if len(parts) == 4 else 0
    return parts[0], int(parts[1]), unquote(parts[2]), used


class Ledger:
    """The log of the files the cache put in the stream directory `dirname`.

    Args:
        dirname: The stream directory.
        counted: Which names `counted_bytes` sums (say, the shard files of one dataset);
            None: all of them.
    """

    def __init__(self, dirname: str, counted: Callable[[str], bool] | None = None) -> None:
        self.dirname = dirname
        self.path = os.path.join(meta_dir(dirname), LOG)
        self._counted = counted
        self._reset(None)

    def _reset(self, inode: tuple[int, int] | None) -> None:
        self._files: OrderedDict[str, Entry] = OrderedDict()
        self._offset = 0
        self._inode = inode
        self._lines = 0
        self._total = 0
        self._counted_total = 0

    # ---- writing ----------------------------------------------------------------------------

    def _append(self, lines: list[str]) -> None:
        data = "".join(lines).encode("utf-8")
        with exclusive(lock_path(self.dirname, "ledger")):
            fd = open_nofollow(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                end = os.fstat(fd).st_size
                if end and os.pread(fd, 1, end - 1) != b"\n":
                    data = _TORN + data  # a writer died mid-line: end its fragment first
                os.write(fd, data)
            finally:
                os.close(fd)

    @staticmethod
    def _line(op: str, size: int, name: str, used: int) -> str:
        return f"{op} {size} {quote(name)} {used}\n"

    def add(self, names_sizes: dict[str, int]) -> None:
        """Record that the cache wrote these files (name relative to `dirname`: bytes)."""
        if names_sizes:
            now = time.time_ns()
            self._append([self._line("+", size, n, now) for n, size in names_sizes.items()])

    def remove(self, names: list[str]) -> None:
        """Record that the cache deleted these files."""
        if names:
            now = time.time_ns()
            self._append([self._line("-", 0, n, now) for n in names])

    def use(self, uses: list[tuple[str, int]]) -> None:
        """Record that these files were used: ``(name, time.time_ns() of the use)`` pairs."""
        if uses:
            self._append([self._line("u", 0, n, used) for n, used in uses])

    # ---- reading ----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Replay the lines appended since the last call (the whole log if it was compacted)."""
        try:
            fd = open_nofollow(self.path, os.O_RDONLY)
        except FileNotFoundError:
            self._reset(None)
            return
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if (st.st_dev, st.st_ino) != self._inode or st.st_size < self._offset:
                self._reset((st.st_dev, st.st_ino))
            if st.st_size == self._offset:
                return
            f.seek(self._offset)
            data = f.read()
        end = data.rfind(b"\n") + 1  # a torn last line is read again next time
        for line in data[:end].decode("utf-8", "replace").splitlines():
            self._lines += 1
            record = _parse(line)
            if record is not None:
                self._apply(*record)
        self._offset += end

    def _apply(self, op: str, size: int, name: str, used: int) -> None:
        files = self._files
        entry = files.get(name)
        if op == "u":
            if entry is not None:
                entry.used = max(entry.used, used)
                files.move_to_end(name)
            return
        if entry is not None:
            self._total -= entry.size
            if entry.counted:
                self._counted_total -= entry.size
            del files[name]
        if op == "+":
            counted = self._counted is None or self._counted(name)
            files[name] = Entry(size, used, counted)
            self._total += size
            if counted:
                self._counted_total += size

    def files(self) -> dict[str, int]:
        """The files the cache wrote and has not deleted, with their sizes (reads only what
        was appended since the last call)."""
        self.refresh()
        return {name: entry.size for name, entry in self._files.items()}

    def usage(self) -> int:
        """Bytes of the files the cache wrote into the directory and has not deleted."""
        self.refresh()
        return self._total

    def counted_bytes(self) -> int:
        """Bytes of the live files that `counted` selects, as of the last `refresh`."""
        return self._counted_total

    def get(self, name: str) -> Entry | None:
        """The live file `name` as of the last `refresh` (None if not listed)."""
        return self._files.get(name)

    def coldest(self) -> Iterator[tuple[str, Entry]]:
        """Live files, least recently used first, as of the last `refresh`. Do not `refresh`
        while iterating."""
        return iter(self._files.items())

    # ---- compaction -------------------------------------------------------------------------

    def compact(self) -> None:
        """Rewrite the log as one ``+`` line per live file, least recently used first,
        atomically."""
        with exclusive(lock_path(self.dirname, "ledger")):
            self.refresh()
            lines = [f"+ {e.size} {quote(n)}\n" for n, e in self._files.items()]
            st = write_atomic(self.path, ["".join(lines).encode("utf-8")])
        self._inode, self._offset, self._lines = (st.st_dev, st.st_ino), st.st_size, len(lines)

    def maybe_compact(self, slack: int = 1024) -> bool:
        """`compact` if the log (as of the last `refresh`) holds more than four lines per live
        file plus `slack`: each compaction follows that many appends, so its cost is O(1) per
        append. Returns whether it compacted."""
        if self._lines <= 4 * len(self._files) + slack:
            return False
        self.compact()
        return True
