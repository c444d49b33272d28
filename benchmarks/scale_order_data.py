"""The smallest datasets for case (d) of `scale_order.py`: one int column, ``label`` = the
sample's index, in shards/chunks of 1,000 samples (10^8 samples = 100,000 shards).

Writing 10^8 samples through each library's writer would take hours, so the files are made
directly with NumPy, byte for byte what the writers produce: every MDS shard of 1,000 ``int32``
samples has the same head (sample count, offsets, column header) followed by its labels, and
every litdata chunk of 1,000 ``int`` items the same head followed by 1,000 x (``uint32`` size 8,
``int64`` label). `verify` first writes 2,000 samples with the real writers (our ``MDSWriter``;
litdata's ``BinaryWriter`` in its venv) and checks that the generator's files and index entries
are identical to theirs; the benchmark stops if they are not.

* MDS (read by ours and by mosaicml-streaming, which share the format): ``OUT/mds``, about
  8 KB per shard (0.8 GB for 10^8 samples) plus ``index.json``.
* litdata: ``OUT/litdata``, about 16 KB per chunk (1.6 GB for 10^8) plus its ``index.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

SHARD = 1_000
LIT_ITEM = np.dtype([("size", "<u4"), ("label", "<i8")])  # packed: 12 bytes


class DataMismatch(AssertionError):
    """The generated files differ from what the library's own writer writes."""


def _mds_template(tmp: Path) -> tuple[bytes, dict]:
    """Head bytes of a 1,000-sample shard and its index entry, from our MDSWriter."""
    from streaming import MDSWriter

    out = tmp / "mds-ref"
    shutil.rmtree(out, ignore_errors=True)
    with MDSWriter(out=str(out), columns={"label": "int32"}, size_limit=1 << 26) as writer:
        for i in range(SHARD):
            writer.write({"label": i})
    raw = (out / "shard.00000.mds").read_bytes()
    entry = json.loads((out / "index.json").read_text())["shards"][0]
    head = raw[: len(raw) - 4 * SHARD]
    if raw[len(head) :] != np.arange(SHARD, dtype="<i4").tobytes():
        raise DataMismatch("MDS: a shard does not end with its int32 labels")
    return head, entry


def write_mds(out: Path, samples: int, tmp: Path) -> None:
    """`samples` // 1,000 shards of ``label`` int32, as MDSWriter writes them."""
    head, entry = _mds_template(tmp)
    out.mkdir(parents=True)
    shards = []
    for s in range(samples // SHARD):
        name = f"shard.{s:05d}.mds"
        labels = np.arange(s * SHARD, (s + 1) * SHARD, dtype="<i4")
        with open(out / name, "wb") as f:
            f.write(head)
            f.write(labels.tobytes())
        shards.append({**entry, "raw_data": {**entry["raw_data"], "basename": name}})
    (out / "index.json").write_text(json.dumps({"shards": shards, "version": 2}))


def _lit_head() -> bytes:
    offsets = 4 + 4 * (SHARD + 1) + LIT_ITEM.itemsize * np.arange(SHARD + 1, dtype="<u4")
    return np.uint32(SHARD).tobytes() + offsets.astype("<u4").tobytes()


def write_litdata(out: Path, samples: int, config: dict) -> None:
    """`samples` // 1,000 chunks of ``{"label": int}``, as litdata's BinaryWriter writes them,
    with the ``config`` of its index (from `_litdata_reference`)."""
    out.mkdir(parents=True)
    head = _lit_head()
    items = np.zeros(SHARD, LIT_ITEM)
    items["size"] = 8
    chunks = []
    for c in range(samples // SHARD):
        name = f"chunk-0-{c}.bin"
        items["label"] = np.arange(c * SHARD, (c + 1) * SHARD)
        with open(out / name, "wb") as f:
            f.write(head)
            f.write(items.tobytes())
        size = len(head) + items.nbytes
        chunks.append({"chunk_bytes": size, "chunk_size": SHARD, "dim": None, "filename": name})
    index = {"chunks": chunks, "config": config, "updated_at": "0"}
    (out / "index.json").write_text(json.dumps(index))


def _litdata_reference(python: str, tmp: Path) -> Path:
    out = tmp / "lit-ref"
    code = (
        "import sys\nfrom litdata.streaming.writer import BinaryWriter\n"
        f"w = BinaryWriter({str(out)!r}, chunk_size={SHARD})\n"
        f"for i in range({2 * SHARD}):\n    w[i] = {{'label': i}}\n"
        "w.done()\nw.merge()\n"
    )
    subprocess.run([python, "-c", code], check=True, capture_output=True, cwd=tmp)
    return out


def verify(pythons: dict[str, str]) -> dict:
    """Write 2,000 samples with the real writers and with the generators; compare. Returns
    litdata's index config for `write_litdata`."""
    tmp = Path(tempfile.mkdtemp(prefix="scale-order-ref-"))
    try:
        from streaming import MDSWriter

        # The writer's own shard of samples 1,000..1,999 against the generator's second shard.
        ref = tmp / "mds-ref2"
        with MDSWriter(out=str(ref), columns={"label": "int32"}, size_limit=1 << 26) as writer:
            for i in range(SHARD, 2 * SHARD):
                writer.write({"label": i})
        mine = tmp / "mds-mine"
        write_mds(mine, 2 * SHARD, tmp)
        if (mine / "shard.00001.mds").read_bytes() != (ref / "shard.00000.mds").read_bytes():
            raise DataMismatch("MDS: generated shard 1 differs from MDSWriter's")
        entry = json.loads((ref / "index.json").read_text())["shards"][0]
        entry["raw_data"]["basename"] = "shard.00001.mds"
        if json.loads((mine / "index.json").read_text())["shards"][1] != entry:
            raise DataMismatch("MDS: generated index entry differs from MDSWriter's")
        config = None
        if "litdata" in pythons:
            lit = _litdata_reference(pythons["litdata"], tmp)
            index = json.loads((lit / "index.json").read_text())
            config = index["config"]
            generated = tmp / "lit-mine"
            write_litdata(generated, 2 * SHARD, config)
            theirs = {c["filename"]: c for c in index["chunks"]}
            ours = json.loads((generated / "index.json").read_text())
            if {c["filename"]: c for c in ours["chunks"]} != theirs:
                raise DataMismatch(f"litdata: chunk entries differ: {index['chunks']}")
            for name in theirs:
                if (lit / name).read_bytes() != (generated / name).read_bytes():
                    raise DataMismatch(f"litdata: generated {name} differs from BinaryWriter's")
        return {"litdata_config": config}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def make(root: Path, samples: int, pythons: dict[str, str], config: dict | None) -> dict:
    """The MDS and litdata datasets of `samples` under `root` (reused if complete)."""
    paths = {"mds": root / f"mds-{samples}", "litdata": root / f"litdata-{samples}"}
    if not (paths["mds"] / "index.json").exists():
        shutil.rmtree(paths["mds"], ignore_errors=True)
        write_mds(paths["mds"], samples, root)
        shutil.rmtree(root / "mds-ref", ignore_errors=True)
    if config is not None and not (paths["litdata"] / "index.json").exists():
        shutil.rmtree(paths["litdata"], ignore_errors=True)
        write_litdata(paths["litdata"], samples, config)
    os.sync()
    return {k: str(v) for k, v in paths.items()}
