"""Runs inside the mosaicml-streaming 0.13.0 venv: write every interop dataset with the peer's
writers and merge_index, and read datasets (ours, and the peer's own) back with the peer.

    python mosaic_interop.py --work DIR [--write OUT_ROOT] [--read LABEL=ROOT ...] --report FILE

One interpreter does it all, because importing the peer takes seconds. For every dataset read it
reports the digest of each sample (`interop_data.digest_sample`) from the peer's `LocalDataset`
(uncompressed datasets) and from its `StreamingDataset` with ``remote=None`` (all datasets; it
decompresses and, with ``validate_hash``, checks hashes), each on a private copy of the
directory, plus every problem the peer's own hash and decompression functions find in the
files. A failure is reported, not raised, so one bad dataset does not hide the others.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import interop_data as data  # noqa: E402

_FILE_KEYS = ("raw_data", "zip_data", "raw_meta", "zip_meta")


def _error() -> str:
    exc = sys.exc_info()[1]
    return f"{type(exc).__name__}: {exc}"


def peer_api() -> dict:
    from streaming.base.format import CSVWriter, JSONWriter, MDSWriter, TSVWriter, XSVWriter
    from streaming.base.util import merge_index

    return {
        "mds": MDSWriter,
        "json": JSONWriter,
        "csv": CSVWriter,
        "tsv": TSVWriter,
        "xsv": XSVWriter,
        "merge_index": merge_index,
    }


def write_all(root: str, work: str) -> dict[str, str]:
    api = peer_api()
    errors = {}
    for spec in data.get_specs():
        name = spec["name"]
        try:
            data.write_spec(spec, os.path.join(root, name), api, os.path.join(work, "src", name))
        except Exception:
            errors[name] = traceback.format_exc(limit=4)
    return errors


def check_files(dirname: str, index: dict) -> tuple[int, list[str]]:
    """Check every file against index.json with the peer's hashing and decompression."""
    from streaming.base.compression import decompress
    from streaming.base.hashing import get_hash

    checks, problems = 0, []
    for i, shard in enumerate(index["shards"]):
        algos = shard.get("hashes", [])
        for key in _FILE_KEYS:
            info = shard.get(key)
            if not info:
                continue
            path = os.path.join(dirname, info["basename"])
            if not os.path.exists(path):
                if key.startswith("zip") or not shard.get("compression"):
                    problems.append(f"shard {i} {key}: missing {info['basename']}")
                continue
            with open(path, "rb") as f:
                blob = f.read()
            checks += 1
            if len(blob) != info["bytes"]:
                problems.append(f"shard {i} {key}: {len(blob)} bytes, index says {info['bytes']}")
            if sorted(info["hashes"]) != sorted(set(algos)):
                problems.append(f"shard {i} {key}: hashes {sorted(info['hashes'])} != {algos}")
            for algo in algos:
                got = get_hash(algo, blob)
                if info["hashes"].get(algo) != got:
                    problems.append(f"shard {i} {key}: {algo} is {got}, index says "
                                    f"{info['hashes'].get(algo)}")  # fmt: skip
            if key.startswith("zip"):
                raw_info = shard["raw_" + key[4:]]
                raw = decompress(shard["compression"], blob)
                checks += 1
                if len(raw) != raw_info["bytes"]:
                    problems.append(f"shard {i} {key}: decompresses to {len(raw)} bytes, index "
                                    f"says {raw_info['bytes']}")  # fmt: skip
                for algo in algos:
                    if raw_info["hashes"].get(algo) != get_hash(algo, raw):
                        problems.append(f"shard {i} {key}: decompressed {algo} mismatch")
    return checks, problems


def _copy(src: str, work: str) -> str:
    dst = tempfile.mkdtemp(prefix="ds-", dir=work)
    shutil.copytree(src, dst, dirs_exist_ok=True)
    return dst


def read_dataset(path: str, work: str) -> dict:
    from streaming import LocalDataset

    result: dict = {}
    try:
        with open(os.path.join(path, "index.json")) as f:
            index = json.load(f)
        result["checks"], result["problems"] = check_files(path, index)
    except Exception:
        result["check_error"] = _error()
        return result
    shards = index["shards"]
    if not any(s.get("compression") for s in shards):
        try:
            ds = LocalDataset(_copy(path, work))
            result["local"] = [data.digest_sample(ds[i]) for i in range(len(ds))]
        except Exception:
            result["local_error"] = _error()
    common = set.intersection(*(set(s.get("hashes", [])) for s in shards)) if shards else set()
    algo = min(common) if common else None
    result["validate_hash"] = algo
    result.update(_in_child(_streaming_read, _copy(path, work), algo))
    return result


def _streaming_read(local: str, algo: str | None) -> dict:
    from streaming import StreamingDataset

    try:
        ds = StreamingDataset(
            local=local,
            remote=None,
            validate_hash=algo,
            allow_unsafe_types=True,
            batch_size=1,
            shuffle=False,
        )
        return {"streaming": [data.digest_sample(ds[i]) for i in range(len(ds))]}
    except Exception:
        return {"streaming_error": _error()}


def _in_child(fn, *args) -> dict:
    """Run `fn` in a forked child and return its JSON-able result.

    Each StreamingDataset keeps its shared memory (and file descriptors) until the process
    exits, so each one lives in a short child; the child runs the atexit handlers, where the
    peer unlinks the shared memory it created, then leaves.
    """
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            out = fn(*args)
        except BaseException:
            out = {"streaming_error": _error()}
        with os.fdopen(w, "wb") as f:
            f.write(json.dumps(out).encode("utf-8"))
        try:
            atexit._run_exitfuncs()
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        raw = f.read()
    os.waitpid(pid, 0)
    return json.loads(raw) if raw else {"streaming_error": "ChildError: no result"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", required=True)
    parser.add_argument("--write")
    parser.add_argument("--read", action="append", default=[])
    parser.add_argument("--report", required=True)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    report: dict = {"write_errors": {}, "reads": {}}
    if args.write:
        report["write_errors"] = write_all(args.write, args.work)
    for item in args.read:
        label, root = item.split("=", 1)
        reads = report["reads"][label] = {}
        for name in sorted(os.listdir(root)):
            if os.path.isfile(os.path.join(root, name, "index.json")):
                reads[name] = read_dataset(os.path.join(root, name), args.work)
    with open(args.report, "w") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main()
