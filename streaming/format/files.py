"""Writing files so that a crash never leaves a half-written one under its real name."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable


def write_atomic(path: str, chunks: Iterable[bytes | memoryview]) -> None:
    """Write `chunks` to a temporary name beside `path`, fsync-free, then rename it into place.

    If anything fails (or the process dies) before the
    rename, only the temporary file can be left behind, and no reader looks at that name.
    """
    tmp = f"{path}.tmp-{os.getpid()}-{threading.get_ident()}"
    try:
        with open(tmp, "wb") as f:
            f.writelines(chunks)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
