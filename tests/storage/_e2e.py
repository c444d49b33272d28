"""End-to-end checks shared by the object-store backends: write a dataset to a remote with our
writers, stream it back with `StreamingDataset` into a fresh cache, compare every sample."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from torch.utils.data import DataLoader

from streaming import JSONWriter, MDSWriter, StreamingDataset

__all__ = [
    "make_samples", "write_mds", "write_json", "check_streaming", "MDS_COLUMNS", "JSON_COLUMNS",
]

MDS_COLUMNS = {"id": "int", "data": "bytes"}
JSON_COLUMNS = {"id": "int", "text": "str"}
SIZE_LIMIT = 6 << 10  # small shards, so that a few hundred samples make several


def make_samples(n: int = 300, seed: int = 0) -> list[dict[str, Any]]:
    """`n` samples ``{id, data, text}`` with varied, seeded contents (some empty)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        size = rng.choice([0, 1, rng.randrange(2, 600)])
        out.append({
            "id": i,
            "data": rng.randbytes(size),
            "text": "".join(rng.choice("abcdé \n\"{}") for _ in range(size // 4)),
        })
    return out


def write_mds(out: Any, samples: list[dict[str, Any]], **kwargs: Any) -> None:
    """Write `samples` (columns id, data) with MDSWriter: zstd, sha1 + xxh64, small shards."""
    kwargs = {"compression": "zstd", "hashes": ["sha1", "xxh64"], "size_limit": SIZE_LIMIT,
              **kwargs}
    with MDSWriter(out=out, columns=MDS_COLUMNS, **kwargs) as writer:
        for s in samples:
            writer.write({"id": s["id"], "data": s["data"]})


def write_json(out: Any, samples: list[dict[str, Any]]) -> None:
    """Write `samples` (columns id, text) with JSONWriter, uncompressed, small shards."""
    with JSONWriter(out=out, columns=JSON_COLUMNS, hashes=["xxh64"], size_limit=SIZE_LIMIT) as w:
        for s in samples:
            w.write({"id": s["id"], "text": s["text"]})


def _as_list(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return batch


def _normalise(sample: dict[str, Any], columns: dict[str, str]) -> dict[str, Any]:
    return {k: (int(v) if columns[k] == "int" else v) for k, v in sample.items() if k in columns}


def check_streaming(
    remote: str, cache: Path, samples: list[dict[str, Any]], columns: dict[str, str]
) -> None:
    """Stream `remote` into a fresh cache under a DataLoader with 2 workers, and read every
    ``ds[i]`` through another fresh cache; both must give exactly `samples` (restricted to
    `columns`)."""
    assert not cache.exists(), f"cache {cache} exists"
    expected = [_normalise(s, columns) for s in samples]
    ds = StreamingDataset(remote=remote, local=str(cache / "loader"), batch_size=8, shuffle=False)
    assert len(ds) == len(samples)
    loader = DataLoader(ds, batch_size=8, num_workers=2, collate_fn=_as_list)
    got = [_normalise(s, columns) for batch in loader for s in batch]
    assert len(got) == len(expected), f"{len(got)} samples streamed, {len(expected)} written"
    assert sorted(got, key=lambda s: s["id"]) == expected  # every sample exactly once, intact
    fresh = StreamingDataset(remote=remote, local=str(cache / "getitem"), batch_size=8)
    assert [_normalise(fresh[i], columns) for i in range(len(samples))] == expected
