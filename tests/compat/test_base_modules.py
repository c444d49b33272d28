"""Each ``streaming.base`` module, called: the same results as mosaicml-streaming 0.13.0's for
the pure functions (shuffles, partitions, sampling, batching, World, sizes, hashes, compression),
and our documented behaviour where there is no peer counterpart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.peers.runner import run_peer

# Run in both venvs; prints one JSON object. argv[1]: an MDS dataset directory.
CALLS = r'''
import json, sys
import numpy as np
from streaming.base.batching import generate_work
from streaming.base.compression import compress, decompress, get_compressions
from streaming.base.constant import *
from streaming.base.distributed import (all_gather_object, get_local_rank, get_local_world_size,
    get_rank, get_world_size, barrier)
from streaming.base.hashing import get_hash, get_hashes, is_hash
from streaming.base.partition import get_partitions
from streaming.base.sampling import get_sampling
from streaming.base.shuffle import algos, get_shuffle
from streaming.base.util import bytes_to_int, get_list_arg, number_abbrev_to_int
from streaming.base.world import World
from streaming.base import StreamingDataset

out = {}
sizes = np.array([10, 7, 13, 1], np.int64)
out["shuffle"] = {a: get_shuffle(a, sizes, 2, 5, 1, 8).tolist() for a in sorted(algos)}
out["partition"] = {
    a: get_partitions(a, 31, 2, 1, 2, 2, 3, 4, None).tolist() for a in ("orig", "relaxed")
}
out["sampling"] = [get_sampling(sizes, c, 3, 5, 1, u).tolist() for c in (0, 17, 40) for u in (0, 1)]
w = World(2, 2, 2, 5)
out["world"] = [w.to_json(), w.replicate(2).to_json(), w.copy().to_json()]
out["sizes"] = [bytes_to_int("64mb"), bytes_to_int("1.5kb"), bytes_to_int(12), bytes_to_int("7b"),
                number_abbrev_to_int("10k"), number_abbrev_to_int("2b"), get_list_arg("a,b"),
                get_list_arg("")]
out["hash"] = [get_hash("xxh64", b"abc"), get_hash("sha1", b"abc"), is_hash("md5"),
               sorted(get_hashes())]
data = bytes(range(256)) * 40
out["compression"] = [compress(None, b"raw").hex(), decompress(None, b"raw").hex(),
                      compress("zstd:5", data).hex(), compress("br:3", data).hex(),
                      decompress("zstd", compress("zstd", data)) == data,
                      sorted(get_compressions())]
out["constant"] = [LOCALS, BARRIER, NEXT_EPOCH, CACHE_USAGE, SHARD_STATES, SHARD_ACCESS_TIMES,
                   RESUME, EPOCH_SHAPE, EPOCH_DATA, SHM_TO_CLEAN, BARRIER_FILELOCK,
                   CACHE_FILELOCK, TICK, DEFAULT_TIMEOUT]
barrier()
out["distributed"] = [get_rank(), get_world_size(), get_local_rank(), get_local_world_size(),
                      all_gather_object({"x": 1})]
ds = StreamingDataset(local=sys.argv[1], batch_size=2, shuffle=True, num_canonical_nodes=2,
                      shuffle_block_size=16,
                      shuffle_seed=7)
out["batching"] = {m: generate_work(m, ds, World(1, 1, 2, 0), 1, 4).tolist()
                   for m in ("random", "stratified", "per_stream", "device_per_stream")}

# The remaining names, each called.
import os
import torch
from streaming.base import TSVWriter, XSVWriter
from streaming.base.batching.device_per_stream import generate_work_device_per_stream_batching
from streaming.base.batching.per_stream import generate_work_per_stream_batching
from streaming.base.batching.random import generate_work_random_batching
from streaming.base.batching.stratified import generate_work_stratified_batching
from streaming.base.distributed import all_gather, broadcast
from streaming.base.format import get_index_basename, reader_from_json
from streaming.base.format.json.encodings import is_json_encoded, is_json_encoding
from streaming.base.format.mds.encodings import (get_mds_encoded_size, get_mds_encodings,
    is_mds_encoding, is_mds_encoding_safe, mds_decode, mds_encode)
from streaming.base.format.xsv.encodings import is_xsv_encoding, xsv_decode, xsv_encode
from streaming.base.partition.orig import get_partitions_orig
from streaming.base.partition.relaxed import get_partitions_relaxed
from streaming.base.shuffle.naive import get_shuffle_naive
from streaming.base.shuffle.py1br import get_shuffle_py1br
from streaming.base.shuffle.py1e import get_shuffle_py1e
from streaming.base.shuffle.py1s import get_shuffle_py1s
from streaming.base.shuffle.py2s import get_shuffle_py2s

out["shuffle_functions"] = [f(sizes, 2, 5, 1, 8).tolist() for f in (
    get_shuffle_naive, get_shuffle_py1br, get_shuffle_py1e, get_shuffle_py1s, get_shuffle_py2s)]
out["partition_functions"] = [f(31, 2, 1, 2, 2, 3, 4, None).tolist()
                              for f in (get_partitions_orig, get_partitions_relaxed)]
out["batching_functions"] = [f(ds, World(1, 1, 2, 0), 1, 4).tolist() for f in (
    generate_work_random_batching, generate_work_stratified_batching,
    generate_work_per_stream_batching, generate_work_device_per_stream_batching)]
tensor = torch.tensor([1, 2])
broadcast(tensor, 0)
gathered = [torch.zeros(2, dtype=torch.int64)]
all_gather(gathered, tensor)
out["collectives_without_a_group"] = [tensor.tolist(), gathered[0].tolist()]
out["mds_encodings"] = [get_mds_encoded_size("int32"), get_mds_encoded_size("str"),
                        is_mds_encoding("ndarray:uint8:2"), is_mds_encoding("nope"),
                        is_mds_encoding_safe("pkl"), is_mds_encoding_safe("int"),
                        mds_encode("uint16", 258).hex(), int(mds_decode("uint16", b"\x02\x01")),
                        "jpeg" in get_mds_encodings()]
out["text_encodings"] = [is_json_encoding("float"), is_json_encoding("bytes"),
                         is_json_encoded("int", 3), is_xsv_encoding("str"),
                         is_xsv_encoding("json"), xsv_encode("int", 12), xsv_encode("str", "a"),
                         xsv_decode("float", "1.5"), xsv_decode("int", "7")]
for cls, name, extra in ((TSVWriter, "tsv", {}), (XSVWriter, "xsv", {"separator": "|"})):
    path = os.path.join(sys.argv[2], name)
    with cls(out=path, columns={"n": "int", "s": "str"}, **extra) as w:
        for i in range(3):
            w.write({"n": i, "s": f"s{i}"})
    index = json.load(open(os.path.join(path, get_index_basename())))
    reader = reader_from_json(path, None, index["shards"][0])
    out[name] = [index["shards"][0]["format"], [reader.get_item(i) for i in range(3)]]
print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from streaming.base import MDSWriter

    out = tmp_path_factory.mktemp("base-modules") / "ds"
    with MDSWriter(out=str(out), columns={"id": "int"}, size_limit=64) as writer:
        for i in range(23):
            writer.write({"id": i})
    return out


def _run_ours(dataset_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    import subprocess
    import sys

    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    scratch = dataset_dir.parent / "ours"
    scratch.mkdir(exist_ok=True)
    proc = subprocess.run(
        [sys.executable, "-c", CALLS, str(dataset_dir), str(scratch)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.mark.slow
def test_pure_functions_give_the_peers_results(
    mosaic_python: Path, dataset_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = _run_ours(dataset_dir, monkeypatch)
    scratch = dataset_dir.parent / "peer"
    scratch.mkdir(exist_ok=True)
    theirs = json.loads(run_peer(mosaic_python, CALLS, str(dataset_dir), str(scratch)))
    assert ours.keys() == theirs.keys()
    for key in theirs:
        assert ours[key] == theirs[key], key
    # Not vacuous: the calls produced real orders and partitions.
    assert sorted(ours["shuffle"]["py1e"]) == list(range(31))
    assert np.asarray(ours["partition"]["orig"]).shape[:3] == (1, 2, 2)
    assert ours["compression"][:2] == ["726177", "726177"]
    assert ours["xsv"] == ["xsv", [{"n": i, "s": f"s{i}"} for i in range(3)]]
    assert ours["shuffle_functions"][2] == ours["shuffle"]["py1e"]


def test_clean_stale_shared_memory_is_a_quiet_no_op(caplog: pytest.LogCaptureFixture) -> None:
    import warnings

    from streaming.base.util import clean_stale_shared_memory

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert clean_stale_shared_memory() is None
    assert [r.levelname for r in caplog.records if r.levelname != "DEBUG"] == []
    assert "nothing" in (clean_stale_shared_memory.__doc__ or "").lower()


def test_llm_foundry_style_import_is_clean() -> None:
    import subprocess
    import sys

    code = (
        "import warnings; warnings.simplefilter('error');"
        "from streaming.base.util import clean_stale_shared_memory;"
        "clean_stale_shared_memory(); print('ok')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "ok\n", "")


@pytest.mark.parametrize(
    ("module", "says"),
    [
        ("streaming.base.shared", "clean_stale_shared_memory() is a no-op"),
        ("streaming.base.shared.array", "clean_stale_shared_memory() is a no-op"),
        ("streaming.base.shared.barrier", "clean_stale_shared_memory() is a no-op"),
        ("streaming.base.shared.memory", "clean_stale_shared_memory() is a no-op"),
        ("streaming.base.shared.prefix", "clean_stale_shared_memory() is a no-op"),
        ("streaming.base.shared.scalar", "clean_stale_shared_memory() is a no-op"),
        ("streaming.base.spanner", "dataset[i]"),
        ("streaming.base.array", "dataset[2:5]"),
    ],
)
def test_shared_memory_internals_raise_import_error_saying_what_to_use(
    module: str, says: str
) -> None:
    import importlib
    import sys

    with pytest.raises(ImportError) as info:
        importlib.import_module(module)
    message = str(info.value)
    assert message.startswith(module.rsplit(".", 1)[0] if "shared." in module else module)
    assert "no counterpart in this library" in message
    assert "keeps no shared memory" in message
    assert says in message
    assert module not in sys.modules  # a failed import leaves nothing half-made behind


def test_from_import_of_a_shared_name_raises_import_error() -> None:
    with pytest.raises(ImportError, match="streaming.base.shared is an internal module"):
        from streaming.base.shared import SharedBarrier  # noqa: F401


def test_util_helpers(tmp_path: Path) -> None:
    import threading

    from streaming.base.util import get_import_exception_message, retry, wait_for_file_to_exist

    target = tmp_path / "late"
    threading.Timer(0.05, target.touch).start()
    wait_for_file_to_exist(str(target), 0.01, 5, "never")
    with pytest.raises(RuntimeError, match=r"^missing file: 0\.050 < 0\.0"):
        wait_for_file_to_exist(str(tmp_path / "absent"), 0.01, 0.05, "missing file: ")

    assert get_import_exception_message("pyspark", "spark") == (
        "Streaming was installed without pyspark support. To use pyspark with it, run "
        "`pip install 'openstreaming[spark]'`."
    )

    calls: list[str] = []

    @retry(OSError, clean_up_fn=lambda: calls.append("clean"), num_attempts=3,
           initial_backoff=0.001, max_jitter=0)  # fmt: skip
    def flaky() -> str:
        calls.append("call")
        if len(calls) < 5:
            raise OSError("not yet")
        return "done"

    assert flaky() == "done"
    assert calls == ["call", "clean", "call", "clean", "call"]

    @retry
    def bare() -> int:
        return 3

    assert bare() == 3

    @retry(ValueError, num_attempts=2, initial_backoff=0.001, max_jitter=0)
    def always() -> None:
        raise ValueError("always")

    with pytest.raises(ValueError, match="always"):
        always()
    with pytest.raises(ValueError, match="num_attempts must be at least 1"):
        retry(num_attempts=0)


def test_merge_index_and_the_public_objects_are_ours(tmp_path: Path) -> None:
    import streaming
    import streaming.base as base
    from streaming.base.dataloader import StreamingDataLoader
    from streaming.base.dataset import StreamingDataset
    from streaming.base.local import LocalDataset
    from streaming.base.stream import Stream
    from streaming.base.util import merge_index

    assert base.StreamingDataset is streaming.StreamingDataset is StreamingDataset
    assert base.Stream is streaming.Stream is Stream
    assert base.StreamingDataLoader is streaming.StreamingDataLoader is StreamingDataLoader
    assert base.LocalDataset is streaming.LocalDataset is LocalDataset
    for name in ("MDSWriter", "JSONWriter", "CSVWriter", "TSVWriter", "XSVWriter"):
        assert getattr(base, name) is getattr(streaming, name)

    for part in range(2):
        with base.MDSWriter(out=str(tmp_path / f"p{part}"), columns={"id": "int"}) as w:
            for i in range(3):
                w.write({"id": 10 * part + i})
    merge_index([str(tmp_path / f"p{p}" / "index.json") for p in range(2)], str(tmp_path))
    ds = LocalDataset(local=str(tmp_path))
    assert [ds[i]["id"] for i in range(len(ds))] == [0, 1, 2, 10, 11, 12]
    loader = StreamingDataLoader(StreamingDataset(local=str(tmp_path), batch_size=3),
                                 batch_size=3)  # fmt: skip
    assert [b["id"].tolist() for b in loader] == [[0, 1, 2], [10, 11, 12]]


def test_streams_registry_builds_a_registered_stream(tmp_path: Path) -> None:
    from streaming.base.registry_utils import construct_from_registry, create_registry
    from streaming.base.stream import Stream, streams_registry
    from streaming.registry import REGISTRY

    class TaggedStream(Stream):
        def __init__(self, tag: str = "", **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.tag = tag

    streams_registry.register("tagged_h4a", func=TaggedStream)
    try:
        stream = construct_from_registry(
            "tagged_h4a", streams_registry, kwargs={"tag": "t", "local": str(tmp_path)}
        )
        assert (type(stream), stream.tag, stream.local) == (TaggedStream, "t", str(tmp_path))
    finally:
        REGISTRY.pop(("streaming", "streams_registry", "tagged_h4a"), None)

    registry = create_registry("h4a_test", "things", generic_type=type, entry_points=False)
    registry.register("s", func=Stream)
    try:
        assert registry.get("s") is Stream
    finally:
        REGISTRY.pop(("h4a_test", "things", "s"), None)


def test_world_without_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    from streaming.base.world import World

    for name, value in (("RANK", "3"), ("WORLD_SIZE", "4"), ("LOCAL_WORLD_SIZE", "2")):
        monkeypatch.setenv(name, value)
    world = World.detect()
    assert isinstance(world, World)
    assert (world.node, world.rank_of_node, world.is_local_leader) == (1, 1, False)
    assert isinstance(world.detect_workers(), World)
    assert world.detect_workers() == world
