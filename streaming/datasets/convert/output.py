"""Where a conversion writes: a local directory or a remote URL, split by split, part by part.

The layout is ``<out>/<split>/part-<NNNNN>/{index.json, shard.*}`` plus a merged
``<out>/<split>/index.json`` that names every part's shards (``merge_index``'s layout, which
mosaicml-streaming reads too). A part counts as done when it is complete at its final name:

* locally, a part is written under a temporary directory name and renamed into place when its
  writer has finished, so an interrupted part never looks done;
* remotely, a part is written to a local staging directory and uploaded shard by shard, its
  `index.json` last, so a part whose index is in the bucket is complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Any

from streaming.datasets.convert.base import ConversionError, Part
from streaming.format.index import INDEX_BASENAME, parse_index
from streaming.storage.download import download, upload
from streaming.storage.local import local_path_of
from streaming.storage.registry import get_backend


class Output:
    """The output location of one conversion.

    Args:
        out: a local path, a ``file://`` URL or a remote URL (``s3://bucket/dir``).
        work_dir: local staging directory for remote outputs (None: a temporary directory).
    """

    def __init__(self, out: str, work_dir: str | None = None) -> None:
        self.out = out
        self.local_root = local_path_of(out)
        self._work_dir = work_dir
        self._own_work_dir = False
        if self.local_root is None and work_dir is None:  # made here, shared by the workers
            self._work_dir = tempfile.mkdtemp(prefix="streaming-convert-")
            self._own_work_dir = True

    @property
    def is_remote(self) -> bool:
        """Whether parts are staged locally and uploaded."""
        return self.local_root is None

    def split_url(self, split: str) -> str:
        """The directory (path or URL) of a split."""
        if self.local_root is not None:
            return os.path.join(self.local_root, split)
        return f"{self.out.rstrip('/')}/{split}"

    def part_url(self, part: Part) -> str:
        """The final directory (path or URL) of a part."""
        if self.local_root is not None:
            return os.path.join(self.local_root, part.split, part.name)
        return f"{self.split_url(part.split)}/{part.name}"

    def staging_dir(self, part: Part) -> str:
        """Where the part's writer writes: a temporary name beside it, or a staging directory."""
        if self.local_root is not None:
            return os.path.join(self.local_root, part.split, f".{part.name}.tmp")
        assert self._work_dir is not None
        return os.path.join(self._work_dir, part.split, part.name)

    def read_json(self, url: str) -> bytes | None:
        """The bytes of a small file (an index) at `url`, or None if it does not exist."""
        if self.local_root is not None:
            try:
                with open(url, "rb") as f:
                    return f.read()
            except FileNotFoundError:
                return None
        if not get_backend(url).exists(url):
            return None
        with tempfile.TemporaryDirectory(prefix="streaming-convert-") as tmp:
            path = os.path.join(tmp, INDEX_BASENAME)
            download(url, path)
            with open(path, "rb") as f:
                return f.read()

    def part_index(self, part: Part) -> dict[str, Any] | None:
        """The index of `part` if the part is complete, else None."""
        url = _join(self.part_url(part), INDEX_BASENAME, self.is_remote)
        raw = self.read_json(url)
        return None if raw is None else parse_index(raw, url)

    def split_index(self, split: str) -> dict[str, Any] | None:
        """The merged index of `split`, if there is one."""
        url = _join(self.split_url(split), INDEX_BASENAME, self.is_remote)
        raw = self.read_json(url)
        return None if raw is None else parse_index(raw, url)

    def clear_split(self, split: str) -> None:
        """Delete a local split directory (``--overwrite``); remote objects are overwritten."""
        if self.local_root is not None:
            shutil.rmtree(self.split_url(split), ignore_errors=True)

    def publish(self, part: Part, staging: str) -> None:
        """Move a finished part from `staging` to its final place."""
        final = self.part_url(part)
        if self.local_root is not None:
            shutil.rmtree(final, ignore_errors=True)
            os.replace(staging, final)
            return
        with open(os.path.join(staging, INDEX_BASENAME), "rb") as f:
            index = json.load(f)
        for shard in index["shards"]:  # shards first, the index last: the index means done
            for key in ("raw_data", "zip_data"):
                info = shard.get(key)
                path = os.path.join(staging, info["basename"]) if info else None
                if path and os.path.exists(path):
                    upload(path, f"{final}/{info['basename']}")
        upload(os.path.join(staging, INDEX_BASENAME), f"{final}/{INDEX_BASENAME}")
        shutil.rmtree(staging, ignore_errors=True)

    def merge(self, split: str, parts: list[Part]) -> None:
        """Write the split's `index.json` over its parts, in part order."""
        from streaming.format.merge import merge_index

        urls = [_join(self.part_url(p), INDEX_BASENAME, self.is_remote) for p in parts]
        merge_index(urls, self.split_url(split))

    def check_foreign(self, split: str) -> None:
        """Refuse to write into a split that holds a dataset this converter did not write."""
        index = self.split_index(split)
        if index is None:
            return
        foreign = [
            s["raw_data"]["basename"]
            for s in index["shards"]
            if not s["raw_data"]["basename"].startswith("part-")
        ]
        if foreign:
            raise ConversionError(
                f"{self.split_url(split)!r} already holds a dataset that was not written by "
                f"`streaming convert` (e.g. shard {foreign[0]!r}); choose another --out, or "
                "pass --overwrite to replace it"
            )

    def cleanup(self) -> None:
        """Remove the staging directory of a remote output (only its parts, if it was given)."""
        if self._own_work_dir:
            shutil.rmtree(self._work_dir or "", ignore_errors=True)
        elif self.is_remote and self._work_dir is not None:
            for name in os.listdir(self._work_dir) if os.path.isdir(self._work_dir) else []:
                path = os.path.join(self._work_dir, name)
                if os.path.isdir(path) and not os.listdir(path):
                    os.rmdir(path)


def _join(base: str, name: str, remote: bool) -> str:
    return f"{base.rstrip('/')}/{name}" if remote else os.path.join(base, name)
