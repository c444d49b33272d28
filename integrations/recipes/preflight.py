"""What a recipe run checks about its data and machine before anything loads: each stream's
``index.json`` is there (a wrong split names the splits that exist), which hash it records
(``validate_hash: auto``), and the accelerator the recipe asks for exists (a GPU recipe on a
machine without one names the CPU fragment to include instead).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from typing import Any

from streaming.config import RecipeError
from streaming.config.schema import DatasetConfig, TrainConfig

INDEX = "index.json"
#: The hash `validate_hash: auto` checks when the index records it (about 1.8 GiB/s on one
#: core of a busy machine; each file once per node, see `streaming.cache.verified`).
AUTO_HASH = "xxh64"
GPU_ACCELERATORS = ("gpu", "cuda")


@dataclass
class StreamPlace:
    """Where one stream's data is: its recipe key (for messages), remote, local and split."""

    key: str
    remote: str | None
    local: str | None
    split: str | None


def places(key: str, ds: DatasetConfig) -> list[StreamPlace]:
    """The streams of dataset section `key` (one, or one per ``streams`` entry)."""
    if not ds.streams:
        return [StreamPlace(key, ds.remote, ds.local, ds.split)]
    return [
        StreamPlace(f"{key}.streams.{name}", s.remote or None, s.local or None, s.split or ds.split)
        for name, s in ds.streams.items()
    ]


def splits_in(folder: str) -> list[str]:
    """The splits of a local dataset folder: its subfolders (any depth up to 2) holding an
    ``index.json``, and ``""`` when the folder itself holds one."""
    found = [""] if os.path.isfile(os.path.join(folder, INDEX)) else []
    for root, dirs, files in os.walk(folder):
        depth = os.path.relpath(root, folder).count(os.sep)
        if root != folder and INDEX in files:
            found.append(os.path.relpath(root, folder))
            dirs.clear()  # the parts of a merged index are not splits of their own
        elif depth >= 1:
            dirs.clear()
        dirs.sort()
    return sorted(found)


def read_index(place: StreamPlace, timeout: float = 60) -> dict[str, Any] | None:
    """The stream's ``index.json``: the local copy when there is one, else fetched from the
    remote into a temporary file (None when neither has one we can read).

    Raises:
        RecipeError: a local-only stream without an index at its split, naming the splits that
            exist there.
    """
    split = place.split or ""
    if place.local:
        path = os.path.join(place.local, split, INDEX)
        if os.path.isfile(path):
            with open(path) as f:
                return json.load(f)
        if not place.remote:
            raise RecipeError(_no_split(place), f"{place.key}.split")
    if not place.remote:
        return None
    from streaming.storage.download import download
    from streaming.stream import _join

    with tempfile.TemporaryDirectory(prefix="streaming-recipe-") as tmp:
        local = os.path.join(tmp, INDEX)
        remote = _join(place.remote, split, INDEX)
        try:
            download(remote, local, attempts=1, timeout=timeout)
            with open(local) as f:
                return json.load(f)
        except Exception:  # the dataset reports a remote it cannot read, with its own words
            return None


def _no_split(place: StreamPlace) -> str:
    local = place.local or ""
    split = place.split or ""
    if not os.path.isdir(local):
        return (
            f"{place.key}.local: no dataset at {local!r} (convert one there first, e.g. "
            f"streaming convert DATASET --in RAW --out {local})"
        )
    found = splits_in(local)
    where = os.path.join(local, split)
    if not found:
        return f"{place.key}.split: no {INDEX} in {where!r}, and {local!r} holds no split"
    names = ", ".join(repr(s) if s else "'' (the folder itself)" for s in found)
    return f"{place.key}.split: no split {split!r} in {local!r}; it has {names}"


def records_hash(index: dict[str, Any], algo: str) -> bool:
    """Whether every file of every shard in `index` records hash `algo`."""
    shards = index.get("shards") or []
    for shard in shards:
        for role in ("raw_data", "zip_data", "raw_meta", "zip_meta"):
            info = shard.get(role)
            if info and algo not in (info.get("hashes") or {}):
                return False
    return bool(shards)


def resolve_validate_hash(key: str, ds: DatasetConfig) -> DatasetConfig:
    """`ds` with ``validate_hash: auto`` made ``xxh64`` where the index records it (each stream
    on its own) and None where it does not; every local split checked to exist."""
    streams = places(key, ds)
    verdicts = []
    for place in streams:
        index = read_index(place, ds.download_timeout)
        verdicts.append(index is not None and records_hash(index, AUTO_HASH))
    if ds.validate_hash != "auto":
        return ds
    if not ds.streams:
        ds.validate_hash = AUTO_HASH if verdicts[0] else None
        return ds
    ds.validate_hash = None
    for stream, verdict in zip(ds.streams.values(), verdicts, strict=True):
        if stream.validate_hash in (None, "auto"):
            stream.validate_hash = AUTO_HASH if verdict else None
    return ds


def check_accelerator(cfg: TrainConfig) -> None:
    """A GPU recipe on a machine without a GPU: name the CPU fragment of its trainer."""
    if cfg.trainer.accelerator not in GPU_ACCELERATORS:
        return
    import torch

    if torch.cuda.is_available():
        return
    kind = cfg.trainer.kind
    raise RecipeError(
        f"trainer.accelerator: {cfg.trainer.accelerator!r}, but this machine has no GPU that "
        f"torch can use; train on the CPU with --include configs/trainers/{kind}_cpu.yaml",
        "trainer.accelerator",
    )
