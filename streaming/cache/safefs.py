"""File operations of the cache that never follow a symbolic link out of their directory.

Every file the cache writes or deletes is named by a directory and a relative name (a shard's
basename from ``index.json``, a lock's name). `contained` refuses a name that leaves its
directory (``..``, an absolute path, a symbolic link on the way); `open_nofollow` opens with
``O_NOFOLLOW``; `remove_contained` deletes only a regular file inside the directory.
"""

from __future__ import annotations

import os
import stat

__all__ = ["EscapingPathError", "contained", "open_nofollow", "remove_contained"]


class EscapingPathError(PermissionError):
    """A cache file name that would lead outside its directory, or through a symbolic link."""


def contained(dirname: str, name: str) -> str:
    """``dirname/name``, after checking that it stays inside `dirname` once resolved (no
    ``..``, no absolute name, no symbolic link among its folders or as the file itself).

    Raises:
        EscapingPathError: naming the path and why it is refused.
    """
    path = os.path.join(dirname, name)
    base = os.path.realpath(dirname)
    parent = os.path.realpath(os.path.dirname(path))
    if os.path.isabs(name) or os.path.commonpath([base, parent]) != base:
        raise EscapingPathError(
            f"Refusing cache file {path!r}: it resolves outside the directory {dirname!r} "
            "(a '..' or absolute name, or a symbolic link among its folders)"
        )
    if os.path.islink(path):
        raise EscapingPathError(
            f"Refusing cache file {path!r}: it is a symbolic link (to {os.readlink(path)!r}); "
            "the cache never writes or deletes through a link. Remove the link"
        )
    return path


def open_nofollow(path: str, flags: int, mode: int = 0o600) -> int:
    """`os.open` with ``O_NOFOLLOW | O_CLOEXEC``: a symbolic link at `path` is refused.

    Raises:
        EscapingPathError: `path` is a symbolic link.
    """
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as e:
        if os.path.islink(path):
            raise EscapingPathError(
                f"Refusing to open {path!r}: it is a symbolic link (to {os.readlink(path)!r}); "
                "the cache never writes through a link. Remove the link"
            ) from e
        raise


def remove_contained(dirname: str, name: str) -> int:
    """Delete the regular file ``dirname/name`` (never a link, never outside `dirname`);
    returns its size, or 0 if it was not there."""
    path = contained(dirname, name)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return 0
    if not stat.S_ISREG(st.st_mode):
        raise EscapingPathError(f"Refusing to delete {path!r}: it is not a regular file")
    try:
        os.remove(path)
    except FileNotFoundError:
        return 0
    return st.st_size
