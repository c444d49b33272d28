"""Helpers of the interop tests: our writers as an `api`, running the peer script, file listings."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import traceback
from pathlib import Path
from typing import Any

from tests.peers.scripts import interop_data as data

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "tests" / "peers" / "scripts"
SPECS = data.get_specs()
SPEC_NAMES = [s["name"] for s in SPECS]
EMPTY = {s["name"] for s in SPECS if s.get("n", 1) == 0 and "parts" not in s}
# Inputs that the peer's writers accept beyond the documented ones (extra sample keys, duplicate
# hashes, fractional size strings, numpy casts); tests/interop/test_lenient_inputs.py has them.
LENIENT = {name for name in SPEC_NAMES if name.startswith("lenient_")}
STRICT_NAMES = [name for name in SPEC_NAMES if name not in LENIENT]
COMPRESSED = {
    s["name"]
    for s in SPECS
    if (s.get("kwargs") or {}).get("compression")
    or any(p[4].get("compression") for p in s.get("parts", []))
}
_FILE_KEYS = ("raw_data", "zip_data", "raw_meta", "zip_meta")


def our_api() -> dict[str, Any]:
    from streaming import CSVWriter, JSONWriter, MDSWriter, TSVWriter, XSVWriter, merge_index

    return {
        "mds": MDSWriter,
        "json": JSONWriter,
        "csv": CSVWriter,
        "tsv": TSVWriter,
        "xsv": XSVWriter,
        "merge_index": merge_index,
    }


def write_all_ours(root: Path, work: Path) -> dict[str, str | None]:
    """Write every spec with our library; return each spec's error (a traceback) or None."""
    api = our_api()
    errors: dict[str, str | None] = {}
    for spec in SPECS:
        name = spec["name"]
        try:
            data.write_spec(spec, str(root / name), api, str(work / name))
            errors[name] = None
        except Exception:
            errors[name] = traceback.format_exc(limit=6)
    return errors


def run_peer_script(
    python: Path, script: str, *args: str, tmpdir: Path, timeout: float = 300
) -> str:
    """Run tests/peers/scripts/`script` with the peer's interpreter (cwd=/); return stdout.

    `tmpdir` becomes the peer's TMPDIR: its StreamingDataset leaves lock files
    (``NNNNNN_cache_filelock``) in the temp dir and never removes them.
    """
    tmpdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [str(python), str(SCRIPTS / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd="/",  # never let the peer import our ./streaming by accident
        env={**os.environ, "TMPDIR": str(tmpdir)},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{script} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc.stdout


def list_files(root: Path) -> list[str]:
    """Every file under `root`, as sorted relative posix paths."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def read_index(dirname: Path) -> dict:
    with open(dirname / "index.json", "rb") as f:
        return json.loads(f.read())


def copy_dataset(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def mask_gzip(blob: bytes) -> bytes:
    """A gzip member with its MTIME field (bytes 4-7, the only run-dependent part) zeroed."""
    assert blob[:2] == b"\x1f\x8b", "not a gzip member"
    return blob[:4] + b"\0\0\0\0" + blob[8:]


def gunzip(blob: bytes) -> bytes:
    return gzip.decompress(blob)


def index_without_gz_hashes(raw: bytes) -> str:
    """The index re-serialised (same key order) with the hashes of gz files blanked."""
    obj = json.loads(raw)
    for shard in obj["shards"]:
        if (shard.get("compression") or "").split(":")[0] != "gz":
            continue
        for key in ("zip_data", "zip_meta"):
            if shard.get(key):
                shard[key]["hashes"] = {k: "<gz>" for k in shard[key]["hashes"]}
    return json.dumps(obj)


def file_infos(index: dict) -> list[tuple[int, str, dict]]:
    return [
        (i, key, shard[key])
        for i, shard in enumerate(index["shards"])
        for key in _FILE_KEYS
        if shard.get(key)
    ]
