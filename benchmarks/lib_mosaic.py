"""Adapter for mosaicml-streaming 0.13.0, run with its own venv (`scripts/peer_venv.sh mosaic`).

Its LocalDataset cannot read compressed shards, so zstd reads go through StreamingDataset
(local only, remote=None), which decompresses each shard to disk on first use and then reads
the raw shard: only the first repeat pays for decompression.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from streaming import LocalDataset, MDSWriter, StreamingDataset

SIZE_LIMIT = 1 << 26
NOTES = "MDSWriter; LocalDataset (uncompressed) / StreamingDataset(remote=None) for zstd reads"


def write(out: str, columns: dict[str, str], compression: str | None, samples: Iterable[dict]):
    with MDSWriter(out=out, columns=columns, compression=compression, size_limit=SIZE_LIMIT) as w:
        for sample in samples:
            w.write(sample)


def open_reader(out: str, compression: str | None, op: str):
    if compression:
        return StreamingDataset(local=out, remote=None, batch_size=256, shuffle=False)
    return LocalDataset(local=out)


def iterate(ds) -> Iterator[dict]:
    if isinstance(ds, StreamingDataset):
        return iter(ds)
    # LocalDataset has no __iter__ of its own; index it in order (its fastest full pass).
    return (ds[i] for i in range(len(ds)))
