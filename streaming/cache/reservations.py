"""Room reserved under `cache_limit` by the downloads in flight on this node.

A process that is about to fetch a shard has made room for it (evicting other shards) under
the dataset's room lock; before it releases that lock it records a reservation (the bytes the
shard will take) in the stream directory's meta directory, and removes it when the fetch ends.
Another process making room counts the reservations, so two downloads never both take the same
free space and the cache never goes over the limit. A reservation is live only while its owner
holds the shard's fetch lock, so one left by a killed process is ignored (and removed).

A reservation left by a killed process is also the sign that the process died between making
room and recording what it downloaded in the ledger: `in_flight` hands such names to its
`orphaned` callback (under the room lock) so the cache can record the files that did arrive.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from urllib.parse import quote, unquote

from streaming.cache.locks import lock_path, try_exclusive
from streaming.cache.paths import make_private_dirs, meta_dir
from streaming.format.files import write_atomic

__all__ = ["reserve", "release", "in_flight"]

_FOLDER = "reserved"


_folders: dict[tuple[str, str, str], str] = {}


def _folder(dirname: str) -> str:
    """The reservations folder of `dirname`, created 0700 and checked once per process while
    it exists (as `streaming.cache.locks.lock_dir`)."""
    key = (dirname, os.environ.get("XDG_CACHE_HOME", ""), os.path.expanduser("~"))
    found = _folders.get(key)
    if found is None or not os.path.isdir(found):
        found = _folders[key] = make_private_dirs(meta_dir(dirname), _FOLDER)
    return found


def reserve(dirname: str, name: str, nbytes: int) -> str:
    """Record that shard file `name` of the stream directory `dirname` is being fetched and
    will take `nbytes`; returns the reservation's path (for `release`). The caller holds the
    fetch lock ``<name>.fetch``."""
    path = os.path.join(_folder(dirname), quote(name, safe=""))
    write_atomic(path, [str(int(nbytes)).encode()])
    return path


def release(path: str) -> None:
    """Remove a reservation."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


def in_flight(dirname: str, orphaned: Callable[[str], None] | None = None) -> dict[str, int]:
    """The live reservations of `dirname`: shard file name -> bytes reserved. Each reservation
    whose owner died is removed, after a call ``orphaned(name)`` (while the fetch lock is
    held, so no one fetches that shard meanwhile)."""
    folder = _folder(dirname)
    try:
        entries = os.listdir(folder)
    except FileNotFoundError:
        return {}
    live = {}
    for entry in entries:
        if ".tmp-" in entry:
            continue
        name = unquote(entry)
        with try_exclusive(lock_path(dirname, f"{name}.fetch")) as free:
            if free:  # its owner is gone
                if orphaned is not None:
                    orphaned(name)
                release(os.path.join(folder, entry))
                continue
        with contextlib.suppress(FileNotFoundError, ValueError):
            with open(os.path.join(folder, entry), encoding="ascii") as f:
                live[name] = int(f.read())
    return live
