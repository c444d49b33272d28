"""Writing files so that a crash never leaves a half-written one under its real name, and so that
a hostile index cannot steer a write outside its dataset directory."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

_BLOCK = 4 << 20  # join small chunks into writes of about this size
_INDEX = "index.json"
_CACHE_DIR = ".streaming"


def unsafe_target(dirname: str, basename: str) -> str | None:
    """Why writing `basename` (from an index) under `dirname` would be unsafe, or None if not.

    Unsafe: the path is a symbolic link; it resolves (through links in its directories)
    outside `dirname`; or it resolves onto the dataset's own ``index.json`` or into the
    ``.streaming`` folder of cache records.
    """
    root = os.path.realpath(dirname)
    path = os.path.join(dirname, basename)
    if os.path.islink(path):
        return f"it is a symbolic link (to {os.readlink(path)!r})"
    target = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
    if target == root or os.path.commonpath([root, target]) != root:
        return f"it resolves to {target!r}, outside the dataset directory {root!r}"
    rel = os.path.relpath(target, root)
    if rel == _INDEX:
        return "it resolves to the dataset's own index.json"
    if rel.split(os.sep)[0] == _CACHE_DIR:
        return f"it resolves into the cache's {_CACHE_DIR!r} folder"
    return None


def write_atomic(path: str, chunks: Sequence[bytes | memoryview]) -> os.stat_result:
    """Write `chunks` back to back to a temporary name beside `path`, then rename it into place.

    If anything fails (or the process dies) before the rename, only the temporary file can be
    left behind, and no reader looks at that name. The temporary file is never opened through
    a symbolic link (one planted under its name is refused), and the rename replaces a link
    at `path` itself rather than writing where it points. Returns the written file's stat
    (taken before the rename, which keeps it), so a caller can record exactly that version.
    """
    tmp = f"{path}.tmp-{os.getpid()}-{threading.get_ident()}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        try:
            _write_all(fd, chunks)
            st = os.fstat(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        return st
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _write_all(fd: int, chunks: Sequence[bytes | memoryview]) -> None:
    # Small chunks are joined into blocks of a few MiB: large writes let the kernel keep the
    # file in large page-cache folios, which makes later memory-mapped random reads about
    # twice as fast as a file written in small pieces (measured: 2.8 vs 5.5 us per sample).
    block: list[bytes | memoryview] = []
    size = 0
    for chunk in chunks:
        if len(chunk) >= _BLOCK:
            _flush(fd, block)
            block, size = [], 0
            _write_fully(fd, chunk)
            continue
        block.append(chunk)
        size += len(chunk)
        if size >= _BLOCK:
            _flush(fd, block)
            block, size = [], 0
    _flush(fd, block)


def _flush(fd: int, block: list[bytes | memoryview]) -> None:
    if block:
        _write_fully(fd, block[0] if len(block) == 1 else b"".join(block))


def _write_fully(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
