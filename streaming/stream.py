"""`Stream`: one dataset directory (a remote and its local cache) and its weight in the mix.

The same constructor and checks as mosaicml-streaming 0.13.0's ``Stream``. Settings left None
take the `StreamingDataset`'s values (`Stream.apply_default`). Shard files are fetched from the
remote through `streaming.storage.download` (any supported scheme, with retries).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Sequence
from typing import Any

from streaming.cache.ledger import Ledger, read_source, write_source
from streaming.cache.locks import exclusive, lock_path
from streaming.cache.paths import default_local, make_private_dirs, meta_dir, same_directory
from streaming.cache.safefs import contained
from streaming.format.index import INDEX_BASENAME
from streaming.format.reader import open_shards
from streaming.format.shard import Shard
from streaming.storage.download import download
from streaming.storage.local import local_path_of

__all__ = ["Stream"]


def _join(remote: str, *parts: str) -> str:
    parts = tuple(p for p in parts if p)
    if local_path_of(remote) is not None and not remote.startswith("file://"):
        return os.path.join(remote, *parts)
    return "/".join([remote.rstrip("/"), *parts])


def sweep_orphans(dirname: str) -> None:
    """Delete the temporary files (``<name>.tmp-<pid>-<thread>``) that dead processes left in
    `dirname`, such as a download cut short by SIGKILL. Those of live processes stay, and so
    does anything that is not a regular file directly in `dirname` (a symbolic link is never
    followed or deleted)."""
    for name in os.listdir(dirname):
        _, sep, owner = name.rpartition(".tmp-")
        pid = owner.split("-", 1)[0]
        if not sep or not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            path = os.path.join(dirname, name)
            with contextlib.suppress(FileNotFoundError):
                if stat.S_ISREG(os.lstat(path).st_mode):
                    os.remove(path)
        except PermissionError:
            pass  # another user's live process


class Stream:
    """One dataset directory to read samples from, and how many of them an epoch draws.

    Args:
        remote: Where the dataset lives: a local path or a ``file://``, ``s3://``, ``gs://``,
            ``oci://`` or ``azure://`` URL. If None, the data must already be in `local`.
        local: Local cache directory. If None, the per-user cache
            ``$XDG_CACHE_HOME/streaming/<blake2s(remote)>/<split>`` (else under
            ``~/.cache/streaming``), created 0700; a directory there that is another user's,
            writable by others or a symbolic link is refused (`UnsafeCacheDirectoryError`). A
            `local` you name is used as given. If `remote` names the same directory as `local`
            (in any spelling), the data is local-only: never evicted nor cleaned.
        split: Sub-directory of `remote` and `local`.
        proportion: Relative weight of this stream in the epoch (with `epoch_size`).
        repeat: Absolute weight: draw ``int(repeat * samples)`` samples per epoch.
        choose: Absolute weight: draw exactly this many samples per epoch.
        download_retry: Total attempts per file (None: the dataset's).
        download_timeout: Seconds per download (None: the dataset's).
        validate_hash: Hash algorithm to check shard files against (None: the dataset's).
        keep_zip: Keep compressed files after decompressing (None: the dataset's).

    At most one of `proportion`, `repeat` and `choose` may be given.
    """

    def __init__(
        self,
        *,
        remote: str | None = None,
        local: str | None = None,
        split: str | None = None,
        proportion: float | None = None,
        repeat: float | None = None,
        choose: int | None = None,
        download_retry: int | None = None,
        download_timeout: float | None = None,
        validate_hash: str | None = None,
        keep_zip: bool | None = None,
    ) -> None:
        self.remote = os.fspath(remote) if remote is not None else None
        self._local = os.fspath(local) if local is not None else None
        self.split = split or ""
        given = [
            n
            for n, v in (("proportion", proportion), ("repeat", repeat), ("choose", choose))
            if v is not None
        ]
        if len(given) > 1:
            raise ValueError(
                f"Stream got {' and '.join(given)}: at most one of `proportion`, `repeat`, and "
                "`choose` may be specified; the others are derived"
            )
        for name, value in (("proportion", proportion), ("repeat", repeat), ("choose", choose)):
            if value is not None and value < 0:
                raise ValueError(f"`{name}` must be non-negative, got {value!r}")
        self._proportion, self._repeat, self._choose = proportion, repeat, choose
        self.proportion = proportion
        self.repeat = repeat
        self.choose = choose
        if download_retry is not None and download_retry < 0:
            raise ValueError(f"`download_retry` must be non-negative, got {download_retry!r}")
        if download_timeout is not None and download_timeout <= 0:
            raise ValueError(f"`download_timeout` must be positive, got {download_timeout!r}")
        self._download_retry = download_retry
        self._download_timeout = download_timeout
        self.download_retry = download_retry
        self.download_timeout = download_timeout
        self.validate_hash = validate_hash
        self._keep_zip = keep_zip
        self.keep_zip = keep_zip
        if self._local is None:
            if self.remote is None:
                raise ValueError("Stream needs `remote` and/or `local`: neither was given")
            # One private directory per remote and user, shared by that user's jobs.
            self.local = default_local(self.remote, create=False)  # made and checked on use
        else:
            self.local = self._local
        self.safe_keep_zip = bool(keep_zip) or self.local_only

    @property
    def local_only(self) -> bool:
        """Whether the data exists only locally: no remote, or a remote that names `local`
        (``file://``, trailing separators, relative paths and links normalized). Such data is
        never evicted or deleted by the cache."""
        return same_directory(self.remote, self.local)

    def apply_default(self, default: dict[str, Any]) -> None:
        """Fill the settings left None from the dataset's (``split``, ``download_retry``,
        ``download_timeout``, ``validate_hash``, ``keep_zip``)."""
        if not (self.remote or self._local):
            raise ValueError("`remote` and/or `local` path must be provided")
        if not self.split:
            self.split = default.get("split") or ""
        if self._download_retry is None:
            self.download_retry = default.get("download_retry", 2)
        if self._download_timeout is None:
            self.download_timeout = default.get("download_timeout", 60)
        if self.validate_hash is None:
            self.validate_hash = default.get("validate_hash") or None
        if self._keep_zip is None:
            self.keep_zip = bool(default.get("keep_zip", False))
            self.safe_keep_zip = self.keep_zip or self.local_only

    @property
    def dirname(self) -> str:
        """The local directory holding this stream's ``index.json``."""
        return os.path.join(self.local, self.split)

    def _fetch(self, basename: str) -> None:
        assert self.remote is not None
        download(
            _join(self.remote, self.split, basename),
            contained(self.dirname, basename),
            attempts=2 if self.download_retry is None else self.download_retry,
            timeout=60 if self.download_timeout is None else self.download_timeout,
        )

    def _claim_directory(self) -> None:
        """Make the cache directory (private levels under the per-user root when `local` was
        not given), and record in its meta directory which remote it mirrors; refuse a directory
        that already mirrors another (two datasets writing one ``index.json`` would corrupt each
        other)."""
        if self._local is None:
            make_private_dirs(default_local(self.remote), self.split)
        else:
            os.makedirs(self.dirname, exist_ok=True)
        meta = meta_dir(self.dirname)
        with exclusive(lock_path(self.dirname, "source")):
            recorded = read_source(meta)
            if recorded is not None:
                if (recorded["remote"], recorded["split"]) != (self.remote, self.split):
                    theirs = recorded["remote"]
                    raise ValueError(
                        f"Local directory {self.dirname!r} already caches remote {theirs!r}, not "
                        f"{self.remote!r}: give each remote its own `local` (or `split`), or "
                        "delete the directory"
                    )
                return
            write_source(
                meta,
                {
                    "remote": self.remote,
                    "split": self.split,
                    "dirname": os.path.abspath(self.dirname),
                },
            )

    def get_shards(self, allow_unsafe_types: bool = False) -> Sequence[Shard]:
        """Readers of this stream's shards (a lazy `ShardList`: each is built on first access);
        fetches ``index.json`` first if it is not local (an existing local copy is used as is,
        as the peer). One process per node downloads it. The parsed index is cached beside it
        in the node cache (`streaming.format.sidecar`), so later processes map it."""
        index = os.path.join(self.dirname, INDEX_BASENAME)
        if not self.local_only:
            self._claim_directory()
            sweep_orphans(self.dirname)
        if not os.path.isfile(index):
            if self.local_only:
                raise FileNotFoundError(
                    f"No {INDEX_BASENAME} in {self.dirname!r} and no `remote` to fetch it from"
                    + (f" (remote {self.remote!r} is that same directory)" if self.remote else "")
                )
            with exclusive(lock_path(self.dirname, INDEX_BASENAME)):
                if not os.path.isfile(index):
                    self._fetch(INDEX_BASENAME)
                    Ledger(self.dirname).add({INDEX_BASENAME: os.path.getsize(index)})
        sidecar = self._sidecar_dir()
        return open_shards(
            self.dirname,
            self.validate_hash,
            allow_unsafe_types,
            meta_dir=sidecar,
            guard=lambda: exclusive(lock_path(self.dirname, "index.json.sidecar")),
        )

    def _sidecar_dir(self) -> str | None:
        """Where the parsed form of ``index.json`` is cached: this directory's meta directory
        in the node cache; None (parse every time) where it cannot be made."""
        try:
            return meta_dir(self.dirname)
        except OSError:  # also UnsafeCacheDirectoryError
            return None

    def index_size(self) -> int:
        """Bytes of the local ``index.json``."""
        return os.path.getsize(os.path.join(self.dirname, INDEX_BASENAME))

    def fetch_shard_files(self, shard: Shard) -> int:
        """Download the shard's missing files: the compressed one where there is one (and the
        raw one is missing, or zips are kept), else the raw one. No checks: see `NodeCache`.
        Returns the bytes downloaded."""
        names = []
        for raw, zipped in shard.file_pairs():
            raw_there = os.path.isfile(os.path.join(self.dirname, raw["basename"]))
            if zipped:
                zip_there = os.path.isfile(os.path.join(self.dirname, zipped["basename"]))
                if not zip_there and (not raw_there or self.keep_zip):
                    names.append(zipped["basename"])
            elif not raw_there:
                names.append(raw["basename"])
        downloaded = 0
        for name in names:
            self._fetch(name)
            downloaded += os.path.getsize(os.path.join(self.dirname, name))
        return downloaded

    def __repr__(self) -> str:
        return f"Stream(remote={self.remote!r}, local={self.local!r}, split={self.split!r})"
