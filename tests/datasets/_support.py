"""Helpers of the dataset tests: converting a replica quietly, and iterating a reader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streaming.datasets.convert import ConvertReport, convert, get_converter


def run(
    name: str, raw: Path, out: Path, options: dict | None = None, **kwargs: Any
) -> ConvertReport:
    """Convert the replica at `raw` in this process, without a progress bar."""
    kwargs.setdefault("workers", 1)
    kwargs.setdefault("hashes", ["xxh64"])
    return convert(
        get_converter(name, **(options or {})), str(raw), str(out), progress=False, **kwargs
    )


def iterate(ds: Any) -> list[Any]:
    """One epoch of `ds` as a DataLoader without batching would see it.

    The peer's contract is that iteration yields ``get_item(sample_id)``, which the readers
    override: check that iteration went through it.
    """
    items = list(iter(ds))
    ref = ds.get_item(0)
    if items and isinstance(items[0], dict):
        assert isinstance(ref, dict) and set(items[0]) == set(ref)
    return items
