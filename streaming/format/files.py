"""Writing files so that a crash never leaves a half-written one under its real name."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

_IOV_MAX = 1024  # buffers per writev call (Linux's IOV_MAX)


def write_atomic(path: str, chunks: Sequence[bytes | memoryview]) -> None:
    """Write `chunks` back to back to a temporary name beside `path`, then rename it into place.

    The chunks go to the kernel with `writev`, many per call and without joining them first:
    no copy in user space, and the GIL is free while the kernel copies. If anything fails (or
    the process dies) before the rename, only the temporary file can be left behind, and no
    reader looks at that name.
    """
    tmp = f"{path}.tmp-{os.getpid()}-{threading.get_ident()}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _writev_all(fd, chunks)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _writev_all(fd: int, chunks: Sequence[bytes | memoryview]) -> None:
    for start in range(0, len(chunks), _IOV_MAX):
        batch = chunks[start : start + _IOV_MAX]
        expected = sum(map(len, batch))
        written = os.writev(fd, batch)
        if written != expected:  # a short write: finish this batch the slow way
            rest = memoryview(b"".join(batch))[written:]
            while rest:
                rest = rest[os.write(fd, rest) :]
