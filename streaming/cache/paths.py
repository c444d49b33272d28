"""Where the cache lives, and which directories it may write in.

* **The per-user cache root** (`cache_root`): ``$XDG_CACHE_HOME/streaming``, else
  ``~/.cache/streaming``, created 0700. A stream without `local` caches its shards in
  ``<root>/<digest of the remote>/<split>`` (`default_local`), never in a shared temporary
  directory another user could create first.
* **Coordination files live outside the user's directories** (`meta_dir`): the lock files, the
  record of which remote a directory mirrors and which files the cache downloaded into it are
  kept in ``<root>/meta/<digest of the stream directory's realpath>/``. A `local` directory holds
  only the dataset's own files (``index.json`` and shards), and a file someone plants in it
  (a symbolic link named like a lock) is never opened by the cache.
* **Directories the cache did not create are checked** (`check_private`): a directory owned by
  another user, writable by others without the sticky bit, or reached through a symbolic link
  is refused with `UnsafeCacheDirectoryError`.
"""

from __future__ import annotations

import hashlib
import os
import stat
from urllib.parse import urlparse

__all__ = [
    "UnsafeCacheDirectoryError",
    "cache_root",
    "meta_dir",
    "default_local",
    "check_private",
    "make_private_dirs",
    "location_path",
    "same_directory",
]


class UnsafeCacheDirectoryError(PermissionError):
    """A cache directory that another user could write in (or redirect) was refused."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"Refusing cache directory {path!r}: it {reason}. Another user could plant files "
            "there or redirect the cache's writes. Remove it (or make it yours, not a symbolic "
            "link, and not writable by others), or pass a directory you trust explicitly as "
            "`local=`"
        )


def _digest(text: str) -> str:
    return hashlib.blake2s(text.encode("utf-8"), digest_size=16).hexdigest()


def _owner(uid: int) -> str:
    try:
        import pwd

        return f"uid {uid} ({pwd.getpwuid(uid).pw_name})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def check_private(path: str, *, allow_root_owner: bool = False) -> None:
    """Raise `UnsafeCacheDirectoryError` unless `path` is a real directory (not a symbolic link)
    owned by this user (or by root, if `allow_root_owner`) and not writable by group or others
    unless it has the sticky bit."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeCacheDirectoryError(path, f"is a symbolic link (to {os.readlink(path)!r})")
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeCacheDirectoryError(path, "is not a directory")
    me = os.geteuid()
    if st.st_uid != me and not (allow_root_owner and st.st_uid == 0):
        raise UnsafeCacheDirectoryError(
            path, f"is owned by {_owner(st.st_uid)}, not by you ({_owner(me)})"
        )
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not st.st_mode & stat.S_ISVTX:
        raise UnsafeCacheDirectoryError(
            path, f"is writable by group or others without the sticky bit (mode "
            f"{stat.S_IMODE(st.st_mode):o})"
        )  # fmt: skip


def make_private_dirs(base: str, *parts: str) -> str:
    """Create ``base/part/...`` one level at a time (mode 0700), checking with `check_private`
    every level below `base` (created now or found), so no level is a symbolic link or another
    user's. Returns the path."""
    path = base
    for part in parts:
        for piece in part.split(os.sep):
            if not piece or piece == ".":
                continue
            if piece == "..":
                raise ValueError(f"Cache path part {part!r} may not contain '..'")
            path = os.path.join(path, piece)
            try:
                os.mkdir(path, 0o700)
            except FileExistsError:
                pass
            check_private(path)
    return path


def cache_root() -> str:
    """The per-user cache root, created 0700: ``$XDG_CACHE_HOME/streaming`` (an absolute
    ``XDG_CACHE_HOME`` only, as the XDG spec says), else ``~/.cache/streaming``.

    Raises:
        UnsafeCacheDirectoryError: the root (or ``XDG_CACHE_HOME``/``~/.cache``) is unsafe.
    """
    base = _base()
    os.makedirs(base, mode=0o700, exist_ok=True)
    check_private(os.path.realpath(base), allow_root_owner=True)
    return make_private_dirs(base, "streaming")


def meta_dir(stream_dirname: str, *, create: bool = True) -> str:
    """The private directory (created 0700) holding the cache's records about the stream
    directory `stream_dirname`: its lock files, the remote it mirrors, the files downloaded into
    it, and any other per-directory record (such as which shard hashes were verified).

    It is ``<cache_root()>/meta/<blake2s of os.path.realpath(stream_dirname)>``: every spelling
    of one directory (relative, trailing separator, through a symbolic link) shares one meta
    directory, it belongs to this user, and nothing is written into `stream_dirname` itself.
    Locks there coordinate the processes of one user on one node. `stream_dirname` need not
    exist yet; create it first if a symbolic link could be put in its place later.

    With ``create=False`` only the path is returned (nothing is created or checked).

    Raises:
        UnsafeCacheDirectoryError: the cache root or the meta directory is not this user's.
    """
    key = _digest(os.path.realpath(stream_dirname))
    if not create:
        return os.path.join(_base(), "streaming", "meta", key)
    return make_private_dirs(cache_root(), "meta", key)


def _base() -> str:
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return base


def default_local(remote: str, *, create: bool = True) -> str:
    """The per-user cache directory of `remote` when a stream has no `local` (the split goes
    under it): ``<cache_root()>/<blake2s of the remote>``, created 0700 and checked (with
    ``create=False``, only the path)."""
    if not create:
        return os.path.join(_base(), "streaming", _digest(remote))
    return make_private_dirs(cache_root(), _digest(remote))


def location_path(location: str) -> str | None:
    """The absolute, normalized filesystem path a remote names (a plain or relative path, or a
    ``file://`` URL), or None for remote schemes (``s3://``...)."""
    parsed = urlparse(location)
    if parsed.scheme == "file":
        path = parsed.path
        if parsed.netloc and parsed.netloc != "localhost":
            path = parsed.netloc + path  # file://relative/dir
    elif parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
        path = location
    else:
        return None
    return os.path.realpath(path)


def same_directory(remote: str | None, local: str) -> bool:
    """Whether `remote` names the directory `local` (after normalization: ``file://``,
    trailing separators, relative paths, symbolic links): then its data exists only locally and
    must never be evicted or cleaned."""
    if remote is None:
        return True
    path = location_path(remote)
    if path is None:
        return False
    if path == os.path.realpath(local):
        return True
    try:
        return os.path.samefile(path, local)
    except OSError:
        return False
