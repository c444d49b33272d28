"""Every public module path of mosaicml-streaming 0.13.0's ``streaming/base/`` that user code
imports resolves here, with the same public names and call signatures as the peer's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.compat._peer_api import API, call_problems, describe_here
from tests.peers.runner import run_peer

# Module -> names to compare; [] means the peer module's __all__.
MODULES: dict[str, list[str]] = {
    "streaming.base": [],
    "streaming.base.dataset": ["StreamingDataset"],
    "streaming.base.stream": ["Stream", "streams_registry"],
    "streaming.base.dataloader": ["StreamingDataLoader"],
    "streaming.base.local": ["LocalDataset"],
    "streaming.base.world": ["World"],
    "streaming.base.util": [],
    "streaming.base.format": [],
    "streaming.base.format.index": [],
    "streaming.base.format.mds": [],
    "streaming.base.format.mds.encodings": ["Encoding", "_encodings"],
    "streaming.base.format.json": [],
    "streaming.base.format.json.encodings": [],
    "streaming.base.format.xsv": [],
    "streaming.base.format.xsv.encodings": [],
    "streaming.base.compression": [],
    "streaming.base.hashing": [],
    "streaming.base.shuffle": [
        "algos", "get_shuffle", "get_shuffle_naive", "get_shuffle_py1br", "get_shuffle_py1e",
        "get_shuffle_py1s", "get_shuffle_py2s",
    ],
    "streaming.base.shuffle.py1e": ["get_shuffle_py1e"],
    "streaming.base.partition": ["algos", "get_partitions"],
    "streaming.base.partition.orig": ["get_partitions_orig"],
    "streaming.base.partition.relaxed": ["get_partitions_relaxed"],
    "streaming.base.sampling": ["get_sampling"],
    "streaming.base.batching": ["batching_methods", "generate_work"],
    "streaming.base.batching.random": ["generate_work_random_batching"],
    "streaming.base.constant": [
        "LOCALS", "BARRIER", "NEXT_EPOCH", "CACHE_USAGE", "SHARD_STATES", "SHARD_ACCESS_TIMES",
        "RESUME", "EPOCH_SHAPE", "EPOCH_DATA", "SHM_TO_CLEAN", "BARRIER_FILELOCK",
        "CACHE_FILELOCK", "TICK", "DEFAULT_TIMEOUT",
    ],
    "streaming.base.distributed": [],
    "streaming.base.registry_utils": [],
    "streaming.base.storage": [],
    "streaming.base.storage.upload": [],
    "streaming.base.storage.download": [],
}  # fmt: skip

# Deliberate differences, each in the README: (module, name) -> our parameters.
DIFFERENT_PARAMS = {
    # The readers are our shard readers: (dirname, index entry, shard id, ...).
    ("streaming.base.format", "MDSReader"): None,
    ("streaming.base.format", "JSONReader"): None,
    ("streaming.base.format", "XSVReader"): None,
    ("streaming.base.format", "CSVReader"): None,
    ("streaming.base.format", "TSVReader"): None,
    ("streaming.base.format", "Reader"): None,
    ("streaming.base.format.mds", "MDSReader"): None,
    ("streaming.base.format.json", "JSONReader"): None,
    ("streaming.base.format.xsv", "XSVReader"): None,
    ("streaming.base.format.xsv", "CSVReader"): None,
    ("streaming.base.format.xsv", "TSVReader"): None,
    # Downloaders take the scheme they serve (named subclasses set it themselves).
    **{("streaming.base.storage", n): None for n in (
        "CloudDownloader", "S3Downloader", "SFTPDownloader", "GCSDownloader", "OCIDownloader",
        "AzureDownloader", "AzureDataLakeDownloader", "HFDownloader",
        "DatabricksUnityCatalogDownloader", "DBFSDownloader", "AlipanDownloader",
        "LocalDownloader",
    )},
    **{("streaming.base.storage.download", n): None for n in (
        "CloudDownloader", "S3Downloader", "SFTPDownloader", "GCSDownloader", "OCIDownloader",
        "AzureDownloader", "AzureDataLakeDownloader", "HFDownloader",
        "DatabricksUnityCatalogDownloader", "DBFSDownloader", "AlipanDownloader",
        "LocalDownloader",
    )},
}  # fmt: skip


def _peer_api(mosaic_python: Path) -> dict:
    return json.loads(run_peer(mosaic_python, API, json.dumps(MODULES)))


@pytest.mark.slow
def test_every_module_and_name_resolves_with_the_peers_signature(mosaic_python: Path) -> None:
    peer = _peer_api(mosaic_python)
    ours = describe_here({m: sorted(peer[m]) for m in MODULES})
    problems = []
    for module, names in peer.items():
        for name, theirs in names.items():
            mine = ours[module][name]
            if theirs["kind"] == "missing":
                problems.append(f"{module}.{name}: missing in the peer too (fix MODULES)")
            elif mine["kind"] == "missing":
                problems.append(f"{module}.{name}: missing")
            elif mine["kind"] != theirs["kind"]:
                problems.append(f"{module}.{name}: a {mine['kind']}, the peer's a {theirs['kind']}")
            elif (module, name) in DIFFERENT_PARAMS:
                continue
            elif theirs["params"] is not None:
                for problem in call_problems(mine["params"] or [], theirs["params"]):
                    problems.append(f"{module}.{name}: {problem}")
    assert problems == []
