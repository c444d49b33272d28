"""Finding the datasets at a path or URL, and getting their files, for `inspect` and `verify`.

A URL names either a dataset directory (it holds ``index.json``) or a root whose
sub-directories are datasets (``out/train``, ``out/val`` after ``streaming convert``). Only the
shallowest ``index.json`` of a tree is a dataset: those below it are the indexes of its parts.
For a remote URL only index files are downloaded here; shards are fetched by `fetch`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from streaming.cli.errors import CLIError
from streaming.format.index import INDEX_BASENAME, parse_index
from streaming.storage.download import download
from streaming.storage.local import local_path_of
from streaming.storage.registry import get_backend


@dataclass
class DatasetDir:
    """One dataset directory: where it is, and its parsed index."""

    url: str
    local: str | None  # the directory's path, when it is local
    index: dict[str, Any]
    index_bytes: int

    def file_url(self, basename: str) -> str:
        """The path or URL of one of its files."""
        if self.local is not None:
            return os.path.join(self.local, basename)
        return f"{self.url.rstrip('/')}/{basename}"


Parse = Callable[[bytes, str], dict[str, Any]]


def find_datasets(url: str, parse: Parse = parse_index) -> list[DatasetDir]:
    """The datasets at `url`: itself if it holds an index, else its shallowest sub-datasets.

    `parse` turns an index's bytes (and its path, for messages) into `DatasetDir.index`.
    """
    local = local_path_of(url)
    if local is not None:
        return [_read_local(d, parse) for d in _local_roots(local)]
    backend = get_backend(url)
    base = url.rstrip("/")
    if backend.exists(f"{base}/{INDEX_BASENAME}"):
        return [_read_remote(base, parse)]
    names = [n for n in backend.list_prefix(base) if os.path.basename(n) == INDEX_BASENAME]
    dirs = _shallowest([os.path.dirname(n) for n in names])
    if not dirs:
        raise CLIError(
            f"No dataset at {url!r}: there is no index.json in it or below it",
            "give the directory that holds index.json, or its parent",
        )
    return [_read_remote(f"{base}/{d}", parse) for d in dirs]


def _local_roots(path: str) -> list[str]:
    if not os.path.exists(path):
        raise CLIError(f"{path!r} does not exist", "check the path")
    if os.path.isfile(path):
        if os.path.basename(path) == INDEX_BASENAME:
            return [os.path.dirname(path) or "."]
        raise CLIError(f"{path!r} is a file", "give the dataset directory (it holds index.json)")
    if os.path.isfile(os.path.join(path, INDEX_BASENAME)):
        return [path]
    found = []
    for d, subdirs, files in os.walk(path):
        subdirs.sort()
        if INDEX_BASENAME in files:
            found.append(os.path.relpath(d, path))
            subdirs.clear()  # the indexes below belong to this dataset's parts
    if not found:
        raise CLIError(
            f"No dataset at {path!r}: there is no index.json in it or below it",
            "give the directory that holds index.json, or its parent",
        )
    return [os.path.join(path, d) for d in sorted(found)]


def _shallowest(dirs: list[str]) -> list[str]:
    dirs = sorted(set(dirs), key=lambda d: (d.count("/"), d))
    kept: list[str] = []
    for d in dirs:
        if not any(d == k or d.startswith(k + "/") for k in kept):
            kept.append(d)
    return sorted(kept)


def _read_local(path: str, parse: Parse) -> DatasetDir:
    index_path = os.path.join(path, INDEX_BASENAME)
    with open(index_path, "rb") as f:
        raw = f.read()
    return DatasetDir(path, path, parse(raw, index_path), len(raw))


def _read_remote(url: str, parse: Parse) -> DatasetDir:
    index_url = f"{url}/{INDEX_BASENAME}"
    with tempfile.TemporaryDirectory(prefix="streaming-cli-") as tmp:
        path = os.path.join(tmp, INDEX_BASENAME)
        download(index_url, path)
        with open(path, "rb") as f:
            raw = f.read()
    return DatasetDir(url, None, parse(raw, index_url), len(raw))


def fetch(dataset: DatasetDir, basename: str, tmp: str) -> str | None:
    """A local path to one of the dataset's files (downloaded into `tmp` if remote), or None
    if the file does not exist."""
    if dataset.local is not None:
        path = os.path.join(dataset.local, basename)
        return path if os.path.isfile(path) else None
    url = dataset.file_url(basename)
    dest = os.path.join(tmp, basename)
    try:
        download(url, dest)
    except FileNotFoundError:
        return None
    return dest
