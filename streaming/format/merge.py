"""`merge_index`: one `index.json` over datasets written in parts (one writer per worker or task).

Each part is a sub-directory of the output with its own `index.json`; the merged index lists
every part's shards in order, with each basename prefixed by the part's directory
(``"part-00003/shard.00000.mds"``). It is written as mosaicml-streaming writes it: ``json.dump``
without sorting keys.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any
from urllib.parse import urlparse

from streaming.format.files import write_atomic
from streaming.format.index import INDEX_BASENAME, parse_index
from streaming.storage.download import download, upload
from streaming.storage.registry import get_backend, is_remote_url

_FILE_KEYS = ("raw_data", "zip_data", "raw_meta", "zip_meta")


def merge_index(*args: Any, **kwargs: Any) -> None:
    """Merge the indexes of a dataset's parts into one `index.json` at the root.

    Two call forms, as in mosaicml-streaming:

    - ``merge_index(index_file_urls, out, keep_local=True, download_timeout=60)``: merge the
      given `index.json` files (local paths, remote URLs, or ``(local, remote)`` pairs).
    - ``merge_index(out, keep_local=True, download_timeout=60)``: merge every `index.json` in
      the sub-directories of `out`.

    `out` is a local directory, a remote URL, or a ``(local, remote)`` pair; with a remote, the
    merged index is uploaded there.
    """
    first = args[0] if args else kwargs.get("index_file_urls", kwargs.get("out"))
    if isinstance(first, list) or "index_file_urls" in kwargs:
        return _merge_from_list(*args, **kwargs)
    if isinstance(first, (str, tuple, os.PathLike)):
        return _merge_from_root(*args, **kwargs)
    raise ValueError(
        f"Invalid arguments to merge_index: {args}, {kwargs}; call it as "
        "merge_index(index_file_urls, out) or merge_index(out)"
    )


def _split_out(out: str | tuple[str, str]) -> tuple[str | None, str | None]:
    if isinstance(out, (tuple, list)):
        return os.fspath(out[0]), out[1]
    out = os.fspath(out)
    if is_remote_url(out):
        return None, out
    return out, None


def _merge_from_root(
    out: str | tuple[str, str], keep_local: bool = True, download_timeout: float = 60
) -> None:
    local, remote = _split_out(out)
    if local is not None and os.path.isdir(local):
        files = sorted(
            os.path.join(d, INDEX_BASENAME)
            for d, _, names in os.walk(local)
            if INDEX_BASENAME in names and os.path.abspath(d) != os.path.abspath(local)
        )
    elif remote is not None:
        backend = get_backend(remote)
        files = [
            remote.rstrip("/") + "/" + rel
            for rel in backend.list_prefix(remote)
            if os.path.basename(rel) == INDEX_BASENAME and os.path.dirname(rel)
        ]
    else:
        raise FileNotFoundError(f"merge_index: no dataset directory at {out!r}")
    if not files:
        raise FileNotFoundError(f"merge_index: no part index.json under {out!r}")
    _merge_from_list(files, out, keep_local, download_timeout)


def _merge_from_list(
    index_file_urls: list[str | tuple[str, str]],
    out: str | tuple[str, str],
    keep_local: bool = True,
    download_timeout: float = 60,
) -> None:
    if not index_file_urls or not out:
        raise ValueError("merge_index needs both index_file_urls and out")
    local, remote = _split_out(out)
    shards: list[dict[str, Any]] = []
    seen = set()
    with tempfile.TemporaryDirectory(prefix="streaming-merge-") as tmp:
        for url in index_file_urls:
            key = tuple(url) if isinstance(url, list) else url
            if key in seen:  # the peer drops duplicates too
                continue
            seen.add(key)
            path, name = _fetch(url, tmp, len(seen))
            with open(path, "rb") as f:
                obj = parse_index(f.read(), name)
            prefix = _part_prefix(name, local)
            for shard in obj["shards"]:
                for file_key in _FILE_KEYS:
                    if shard.get(file_key):
                        shard[file_key]["basename"] = f"{prefix}/{shard[file_key]['basename']}"
            shards.extend(obj["shards"])
        data = json.dumps({"version": 2, "shards": shards}).encode("utf-8")
        target_dir = local if local is not None else tmp
        os.makedirs(target_dir, exist_ok=True)
        write_atomic(os.path.join(target_dir, INDEX_BASENAME), [data])
        if remote is not None:
            upload(
                os.path.join(target_dir, INDEX_BASENAME), remote.rstrip("/") + "/" + INDEX_BASENAME
            )
            if local is not None and not keep_local:
                os.unlink(os.path.join(local, INDEX_BASENAME))


def _fetch(url: str | tuple[str, str], tmp: str, n: int) -> tuple[str, str]:
    """A local path to a part's index (downloading it if needed), and its name for messages."""
    if isinstance(url, (tuple, list)):
        local_url, remote_url = url
        if os.path.exists(local_url):
            return local_url, local_url
        url = remote_url
    url = os.fspath(url)
    if not is_remote_url(url):
        if not os.path.exists(url):
            raise FileNotFoundError(f"merge_index: part index {url!r} does not exist")
        return url, url
    dest = os.path.join(tmp, f"part-{n}", INDEX_BASENAME)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    try:
        download(url, dest)
    except FileNotFoundError:
        raise FileNotFoundError(f"merge_index: part index {url!r} does not exist") from None
    return dest, url


def _part_prefix(index_name: str, local: str | None) -> str:
    """The part's directory relative to the root (the peer uses the parent's name)."""
    parent = os.path.dirname(urlparse(index_name).path if is_remote_url(index_name) else index_name)
    if local is not None and not is_remote_url(index_name):
        rel = os.path.relpath(os.path.abspath(parent), os.path.abspath(local))
        if not rel.startswith(".."):
            return rel.replace(os.sep, "/")
    return os.path.basename(parent)
