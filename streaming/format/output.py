"""A writer's claim on its output directory: one writer at a time, and no stray files replaced.

Two writers on one `out` would overwrite each other's shards and index. Each writer holds an
exclusive ``flock`` on ``<out>.lock`` (beside the directory, so the dataset's own files stay
exactly what mosaicml-streaming writes) from its start until it finishes or stops. The kernel
drops the lock when the process dies, SIGKILL included, so a killed writer never blocks the next
one; the lock file is removed on a clean release and is harmless when left behind by a crash.

`exist_ok=True` replaces a dataset, never anything else: `check_replaceable` refuses an `out`
that holds files other than a dataset's (index.json, shards, their compressed forms, temporary
names left by a crash, the cache's ``.streaming`` folder).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re

__all__ = ["LOCK_SUFFIX", "OutputInUseError", "OutputLock", "check_replaceable"]

#: The lock file of output directory ``d`` is ``d + LOCK_SUFFIX``.
LOCK_SUFFIX = ".lock"

# What a dataset directory holds: shards (raw, meta, compressed), the index, and the temporary
# names `write_atomic` uses (``<name>.tmp-<pid>-<thread>``), which a crash can leave behind.
_DATASET_FILE = re.compile(
    r"(?:shard\.\d{5}\.(?:mds|json|jsonl|csv|tsv|xsv)(?:\.meta)?(?:\.(?:br|bz2|gz|snappy|zstd))?"
    r"|index\.json)(?:\.tmp-\d+-\d+)?"
)
_CACHE_DIR = ".streaming"  # the node cache's locks and records, when a dataset was read in place


class OutputInUseError(RuntimeError):
    """Another writer (in this or another process) is writing the same output directory."""


class OutputLock:
    """An exclusive lock on output directory `local`, taken at construction; `release` frees it.

    Raises:
        OutputInUseError: another writer holds it (the message names the directory, the lock
            file and, when known, the holder's process id).
    """

    def __init__(self, local: str) -> None:
        self.local = local
        self.path = os.path.normpath(os.path.abspath(local)) + LOCK_SUFFIX
        self._fd: int | None = None
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        for _ in range(100):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_pid(fd)
                os.close(fd)
                hint = (
                    "wait for it to finish, or write to another directory"
                    if holder != f" (process {os.getpid()})"
                    else "that writer is in this process: finish() or close() it first (an "
                    "unfinished writer holds its output until then, or until it is deleted)"
                )
                raise OutputInUseError(
                    f"Another writer is writing {local!r}{holder} (it holds the lock "
                    f"{self.path!r}). Two writers on one output directory overwrite each "
                    f"other's shards: {hint}."
                ) from None
            # A releasing writer unlinks the file: make sure ours is still the one at the path.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                os.ftruncate(fd, 0)
                os.write(fd, str(os.getpid()).encode())
                return
            os.close(fd)
        raise OutputInUseError(f"Could not lock {self.path!r}: it keeps being replaced")

    @property
    def held(self) -> bool:
        """Whether this object still holds the lock."""
        return self._fd is not None

    def release(self) -> None:
        """Remove the lock file and drop the lock (idempotent)."""
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)  # while still locked: a waiter re-checks the path (see above)
        os.close(self._fd)
        self._fd = None

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)  # leave the file: unlinking at interpreter exit is not needed


def _read_pid(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return f" (process {text})" if text.isdigit() else ""


def check_replaceable(local: str) -> None:
    """Raise `FileExistsError` unless `local` is missing, empty, or holds only a dataset.

    Called before `exist_ok=True` deletes `local`, so that a mistyped `out` (a home directory,
    a source tree) is never wiped. The message names up to ten unexpected entries.
    """
    try:
        names = os.listdir(local)
    except FileNotFoundError:
        return
    except NotADirectoryError:
        raise FileExistsError(
            f"Output {local!r} is a file, not a directory: exist_ok=True only replaces a dataset "
            "directory"
        ) from None
    unexpected = sorted(
        name
        for name in names
        if not (
            (name == _CACHE_DIR and os.path.isdir(os.path.join(local, name)))
            or (_DATASET_FILE.fullmatch(name) and _is_plain_file(os.path.join(local, name)))
        )
    )
    if unexpected:
        shown = ", ".join(repr(n) for n in unexpected[:10])
        more = f" and {len(unexpected) - 10} more" if len(unexpected) > 10 else ""
        raise FileExistsError(
            f"exist_ok=True replaces a dataset, but {local!r} also holds {len(unexpected)} "
            f"entries that are not a dataset's files: {shown}{more}. Nothing was deleted. "
            "Remove them yourself or choose another output directory."
        )


def _is_plain_file(path: str) -> bool:
    return os.path.isfile(path) and not os.path.islink(path)
