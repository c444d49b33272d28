"""Adapter for our library (openstreaming), run with /work/main/.venv/bin/python."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from streaming import LocalDataset, MDSWriter

SIZE_LIMIT = 1 << 26
NOTES = "MDSWriter; LocalDataset for every read"


def write(out: str, columns: dict[str, str], compression: str | None, samples: Iterable[dict]):
    with MDSWriter(out=out, columns=columns, compression=compression, size_limit=SIZE_LIMIT) as w:
        for sample in samples:
            w.write(sample)


def open_reader(out: str, compression: str | None, op: str):
    return LocalDataset(local=out)


def iterate(ds) -> Iterator[dict]:
    return iter(ds)
