"""StreamingDataset behaves as mosaicml-streaming 0.13.0's where user code depends on it: the
constructor's signature and defaults, ``epoch_size`` truncation, ``resample_streams``, a
`Stream` subclass chosen by ``stream_name`` from the streams registry, the
cache methods (``prepare_shard``, ``evict_shard``, ``evict_coldest_shard``), and a plain
``DataLoader(dataset)`` over a dataset built without ``batch_size`` (where we differ on
purpose: the peer raises, we take the DataLoader's default batch of 1 and warn)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from torch.utils.data import DataLoader

from streaming import Stream, StreamingDataset
from streaming.cache.node_cache import NothingToEvictError
from tests.dataset._support import write_ids

SCRIPT = r"""
import inspect, json, sys
from streaming import Stream, StreamingDataset

a, b = sys.argv[1], sys.argv[2]
out = {"signature": [
    [p.name, p.kind.name, repr(p.default)]
    for p in inspect.signature(StreamingDataset.__init__).parameters.values()
]}
out["stream signature"] = [
    [p.name, p.kind.name, repr(p.default)]
    for p in inspect.signature(Stream.__init__).parameters.values()
]
for size in (50.5, "0.0505k", "1.5k", 0.5):
    ds = StreamingDataset(local=a, batch_size=4, epoch_size=size)
    out[f"epoch_size {size!r}"] = [ds.epoch_size, len(ds)]
try:
    StreamingDataset(a, batch_size=4)
except TypeError as e:
    out["positional"] = "TypeError"
for method in ("balanced", "fixed"):
    for shuffle in (False, True):
        ds = StreamingDataset(
            streams=[Stream(local=a, proportion=0.7), Stream(local=b, proportion=0.3)],
            epoch_size=333, batch_size=4, shuffle=shuffle, sampling_method=method,
            sampling_granularity=3,
        )
        for epoch in (0, 1):
            for stream_id in (None, 1):
                units, ids = ds.resample_streams(epoch, stream_id)
                out[f"resample {method} {shuffle} {epoch} {stream_id}"] = [
                    units.tolist(), ids.tolist(), str(units.dtype), str(ids.dtype)
                ]

from streaming.base.stream import streams_registry
from streaming.base.registry_utils import construct_from_registry

class TaggedStream(Stream):
    def __init__(self, *, tag, **kwargs):
        super().__init__(**kwargs)
        self.tag = tag

streams_registry.register("tagged", func=TaggedStream)
ds = StreamingDataset(local=b, batch_size=2, stream_name="tagged", stream_config={"tag": "web"})
built = construct_from_registry("stream", streams_registry, False, kwargs={"local": a})
out["registry"] = {
    "class": type(ds.streams[0]).__name__, "tag": ds.streams[0].tag,
    "timeout": ds.streams[0].download_timeout, "ids": [int(s["id"]) for s in ds],
    "built": type(built).__name__, "names": sorted(streams_registry.get_all()),
}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    tmp = tmp_path_factory.mktemp("behaviours")
    return write_ids(tmp / "a", range(120)), write_ids(tmp / "b", range(500, 560), 500)


def _run(python: str, data: tuple[str, str], tmp: Path) -> dict:
    proc = subprocess.run(
        [python, "-c", SCRIPT, *data],
        capture_output=True,
        text=True,
        timeout=300,
        cwd="/",  # the peer must never import our ./streaming
        env={"TMPDIR": str(tmp), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.peer
@pytest.mark.slow
def test_constructor_epoch_size_resampling_and_registry_as_the_peer(
    mosaic_python: Path, data: tuple[str, str], tmp_path: Path
) -> None:
    ours = _run(sys.executable, data, tmp_path)
    peer = _run(str(mosaic_python), data, tmp_path)
    # The peer's arguments, in its order, then ours: `world` (the trainer's ranks), keyword-only.
    assert ours["signature"][:-1] == peer["signature"]
    assert ours["signature"][-1] == ["world", "KEYWORD_ONLY", "None"]
    assert ["download_timeout", "KEYWORD_ONLY", "60.0"] in ours["signature"]
    assert ours["signature"][-3:-1] == [
        ["stream_name", "KEYWORD_ONLY", "'stream'"],
        ["stream_config", "KEYWORD_ONLY", "None"],
    ]
    assert ours["positional"] == peer["positional"] == "TypeError"
    assert ours["epoch_size 50.5"] == ours["epoch_size '0.0505k'"] == [50, 50]
    assert ours["epoch_size 0.5"] == [120, 120]  # truncated to 0: the natural size
    mismatched = [key for key in peer if key != "signature" and ours.get(key) != peer[key]]
    assert not mismatched, mismatched
    assert ours["registry"]["class"] == "TaggedStream" and ours["registry"]["tag"] == "web"
    assert ours["registry"]["names"] == ["stream", "tagged"]
    assert len(peer) == 8 + 16


def test_cache_methods(tmp_path: Path, data: tuple[str, str]) -> None:
    ds = StreamingDataset(remote=data[0], local=str(tmp_path / "cache"), batch_size=4)
    path = [os.path.join(ds.streams[0].dirname, s.entry["raw_data"]["basename"]) for s in ds.shards]
    assert not any(os.path.exists(p) for p in path)
    assert ds.prepare_shard(1) is None and os.path.isfile(path[1])
    assert ds.prepare_shard(0, blocking=False) is None and os.path.isfile(path[0])
    os.utime(path[0], (1, 1))  # shard 0 is now the least recently used
    assert ds.evict_coldest_shard() is None
    assert not os.path.exists(path[0]) and os.path.isfile(path[1])
    assert ds.evict_shard(1) is None and not os.path.exists(path[1])
    with pytest.raises(NothingToEvictError, match="no shard is cached") as info:
        ds.evict_coldest_shard()
    assert isinstance(info.value, ValueError)  # what the peer raises
    assert ds[0]["id"] == 0  # fetched again on use


def test_local_only_shards_are_never_evicted(data: tuple[str, str]) -> None:
    ds = StreamingDataset(local=data[0], batch_size=4)
    assert ds.evict_shard(0) is None
    assert os.path.isfile(os.path.join(data[0], ds.shards[0].entry["raw_data"]["basename"]))


def _no_batch_size(local: str, batch_size: int | None = None) -> StreamingDataset:
    return StreamingDataset(local=local, shuffle=True, batch_size=batch_size)


def test_plain_dataloader_without_batch_size(data: tuple[str, str]) -> None:
    """The seed README's ``DataLoader(StreamingDataset(local=..., shuffle=True))``: batches
    of 1, in the order of ``batch_size=1``, with one warning that names the setting."""
    expected = [int(s["id"]) for s in _no_batch_size(data[0], 1)]
    with pytest.warns(UserWarning) as caught:
        got = [int(b["id"]) for b in DataLoader(_no_batch_size(data[0]))]
    assert got == expected and sorted(got) == list(range(120))
    assert [str(w.message) for w in caught] == [
        "StreamingDataset was built without `batch_size`: using 1, the default batch size of a "
        "plain DataLoader. Pass StreamingDataset(batch_size=...) equal to the DataLoader's "
        "batch_size: with any other DataLoader batch size, a resumed run does not continue "
        "with the same samples (inexact resume)."
    ]


def test_plain_dataloader_without_batch_size_with_workers(data: tuple[str, str]) -> None:
    """With workers, each worker warns (on its stderr) and plays a batch of 1's share."""
    expected = DataLoader(_no_batch_size(data[0], 1), num_workers=2)
    got = DataLoader(_no_batch_size(data[0]), num_workers=2)
    assert [int(b["id"]) for b in got] == [int(b["id"]) for b in expected]


def test_stream_class_is_the_registered_one(data: tuple[str, str]) -> None:
    assert type(StreamingDataset(local=data[0], batch_size=4).streams[0]) is Stream
