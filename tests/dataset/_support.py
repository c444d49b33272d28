"""Shared by the dataset tests: small datasets with an ``id`` column, and the case runner that
mirrors tests/peers/scripts/dataset_peer.py on our side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streaming import MDSWriter


def write_ids(path: Path, ids: range, size_limit: int = 300, **kwargs: Any) -> str:
    """An MDS dataset at `path` whose samples are ``{"id": i, "pad": bytes}`` for i in `ids`,
    over shards of varied sizes."""
    with MDSWriter(
        out=str(path), columns={"id": "int", "pad": "bytes"}, size_limit=size_limit, **kwargs
    ) as w:
        for i in ids:
            w.write({"id": i, "pad": b"x" * (i % 23)})
    return str(path)


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    """Our StreamingDataset/StreamingDataLoader on one case (see dataset_peer.py)."""
    from streaming import Stream, StreamingDataLoader, StreamingDataset

    kwargs = dict(case["kwargs"])
    if case.get("streams"):
        kwargs["streams"] = [Stream(**s) for s in case["streams"]]
    try:
        ds = StreamingDataset(**kwargs)
        if case.get("load_state") is not None:
            ds.load_state_dict(case["load_state"])
        out: dict[str, Any] = {"epochs": [], "states": [], "mid_state": None, "len": len(ds)}
        if case.get("num_workers") is None:
            for _ in range(case["epochs"]):
                out["epochs"].append([int(s["id"]) for s in ds])
                out["states"].append(ds.state_dict(0, False))
            return out
        loader = StreamingDataLoader(
            ds,
            batch_size=kwargs["batch_size"],
            num_workers=case["num_workers"],
            persistent_workers=bool(case.get("persistent")) and case["num_workers"] > 0,
        )
        for epoch in range(case["epochs"]):
            ids: list[int] = []
            for n, batch in enumerate(loader, 1):
                ids += [int(i) for i in batch["id"]]
                if epoch == 0 and n == case.get("stop_after"):
                    out["mid_state"] = loader.state_dict()
            out["epochs"].append(ids)
            out["states"].append(loader.state_dict())
        return out
    except Exception as e:
        return {"error": f"{type(e).__name__}: {e}"}
