"""One epoch streamed from a loopback S3 server (moto) into an empty cache: ours against
mosaicml-streaming 0.13.0 on the same objects in the same run, and the raw boto3 GET throughput
of those shard objects (sequential ``get_object`` + ``iter_chunks(1 MiB)``) as the ceiling.

    .venv/bin/python benchmarks/s3_stream.py [--dataset tokens|images] [--samples N]
        [--repeat 3] [--libs ours,mosaic] [--out benchmarks/results]

Data: the samples of `data.py`: `tokens` ({tokens: 2,048 random bytes, label}, 150,000 by
default, 307 MB) or `images` ({image: 80-120 KB, label}, 3,000 by default, 300 MB), uncompressed
(random bytes do not compress), written once by our MDSWriter with 64 MiB shards and uploaded
to moto; both libraries read the very same objects. Each epoch runs in a fresh process of that
library's venv, single process, ``shuffle=False``, ``batch_size=256``, from construction to the
last sample, and checks ``label == index`` for every sample and the payload of a few. Then
a pass over the now warm cache (iteration alone), and a second epoch into another empty cache
in the same process (streaming without the one-time start: SDK import, client). Dirty pages
are flushed (``os.sync``) before each measurement. MB/s counts shard-object bytes, so all rows
compare the same bytes. Medians of `--repeat` runs; tables go to
``benchmarks/results/s3_stream[_images].md`` (+ ``.json``, ``.png``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CHUNK = 1 << 20
SHARD_BYTES = 1 << 26
CHECKED = (0, 1, 12_345, -1)


# -- one epoch, in a library's own venv (run by path: `import streaming` is that venv's) -------


def worker(remote: str, cache: str, samples: int, dataset: str) -> None:
    import data  # benchmarks/data.py: this script's directory is sys.path[0]

    spec = data.DATASETS[dataset]

    t0 = time.perf_counter()
    from streaming import StreamingDataset

    import_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ds = StreamingDataset(remote=remote, local=cache, batch_size=256, shuffle=False)
    first_s, count, payload = None, 0, 0
    for sample in ds:
        if sample["label"] != count:
            raise AssertionError(f"sample {count} has label {sample['label']}")
        payload += len(sample[spec.column])
        count += 1
        if first_s is None:
            first_s = time.perf_counter() - t0
    epoch_s = time.perf_counter() - t0
    if count != samples:
        raise AssertionError(f"an epoch yielded {count} samples, wrote {samples}")
    t0 = time.perf_counter()
    warm = sum(1 for _ in ds)
    warm_s = time.perf_counter() - t0
    for i in (c % samples for c in CHECKED):
        if bytes(ds[i][spec.column]) != data.expected(spec, i):
            raise AssertionError(f"sample {i}: payload differs from what was written")
    # Again into another empty cache, in this process (SDK imported, client made): the
    # steady-state cost of streaming, without the one-time start.
    os.sync()
    t0 = time.perf_counter()
    again = StreamingDataset(remote=remote, local=cache + "-again", batch_size=256, shuffle=False)
    if sum(1 for _ in again) != samples:
        raise AssertionError("the second epoch lost samples")
    again_s = time.perf_counter() - t0
    print(json.dumps({"import_s": import_s, "epoch_s": epoch_s, "first_s": first_s,
                      "warm_s": warm_s, "again_s": again_s, "samples": count,
                      "warm_samples": warm, "payload": payload}))


# -- the run -----------------------------------------------------------------------------------


def python_of(lib: str) -> str:
    if lib == "ours":
        return str(REPO / ".venv" / "bin" / "python")
    sys.path.insert(0, str(REPO))
    from tests.peers.runner import peer_venv

    return str(peer_venv(lib) / "bin" / "python")


def publish(endpoint: str, samples: int, scratch: Path, dataset: str) -> tuple[list[str], int]:
    """Write the dataset with our MDSWriter and upload it; returns the object keys and bytes."""
    import data

    from streaming import MDSWriter
    from tests.storage.s3.server import s3_client

    out = scratch / "dataset"
    spec = data.DATASETS[dataset]
    with MDSWriter(out=str(out), columns={spec.column: "bytes", "label": "int"},
                   size_limit=SHARD_BYTES) as writer:
        for sample in data.samples(spec, samples / spec.num_samples):
            writer.write(sample)
    s3 = s3_client(endpoint)
    s3.create_bucket(Bucket="bench")
    keys, total = [], 0
    for path in sorted(out.iterdir()):
        s3.upload_file(str(path), "bench", f"{dataset}/{path.name}")
        keys.append(f"{dataset}/{path.name}")
        total += path.stat().st_size if path.name != "index.json" else 0
    shutil.rmtree(out)
    return keys, total


def raw_get(endpoint: str, keys: list[str], to: Path | None) -> float:
    """Seconds to GET every shard object sequentially, to memory (`to` None) or to files."""
    import boto3

    client = boto3.session.Session().client("s3", endpoint_url=endpoint)
    t0 = time.perf_counter()
    for key in keys:
        if key.endswith("index.json"):
            continue
        body = client.get_object(Bucket="bench", Key=key)["Body"]
        if to is None:
            for _ in body.iter_chunks(CHUNK):
                pass
        else:
            with open(to / os.path.basename(key), "wb") as f:
                for chunk in body.iter_chunks(CHUNK):
                    f.write(chunk)
    seconds = time.perf_counter() - t0
    if to is not None:
        shutil.rmtree(to, ignore_errors=True)
    return seconds


def epoch(
    lib: str, python: str, samples: int, dataset: str, scratch: Path, timeout: float
) -> dict:
    cache = Path(tempfile.mkdtemp(prefix=f"cache-{lib}-", dir=scratch))
    shutil.rmtree(cache)  # the library creates it: an empty cache
    cmd = [python, str(HERE / "s3_stream.py"), "--worker", f"s3://bench/{dataset}", str(cache),
           str(samples), dataset]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd="/")
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(f"{cache}-again", ignore_errors=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{lib} epoch failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _cell(row: dict, key: str, raw: float | None = None) -> str:
    if key not in row:
        return "—"
    return f"{row[key]:.2f}" + (f" ({raw / row[key]:.0%})" if raw else "")


def table(rows: dict[str, dict], shard_bytes: int, samples: int) -> str:
    raw = rows["raw GET"]["seconds"]
    peer = rows.get("mosaic", {}).get("seconds")
    lines = [
        "| reader | epoch s | samples/s | MB/s | vs mosaic | of raw GET | first sample s "
        "| warm-cache pass s | epoch in a warm process s (of raw GET) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        s = r["seconds"]
        vs = f"{peer / s:.2f}x" if peer and not name.startswith("raw") else "—"
        lines.append(
            f"| {name} | {s:.2f} | {samples / s:,.0f} | {shard_bytes / s / 1e6:,.0f} | {vs} "
            f"| {raw / s:.0%} | {_cell(r, 'first_s')} | {_cell(r, 'warm_s')} "
            f"| {_cell(r, 'again_s', raw)} |"
        )
    return "\n".join(lines)


def plot(rows: dict[str, dict], shard_bytes: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(rows)
    mbs = [shard_bytes / rows[n]["seconds"] / 1e6 for n in names]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    colors = ["#888", "#888", "#1f77b4", "#d62728"][: len(names)]
    bars = ax.barh(names[::-1], mbs[::-1], color=colors[::-1])
    ax.bar_label(bars, fmt="%.0f MB/s", padding=3)
    ax.set_xlabel("MB/s, one epoch from loopback moto S3 into an empty cache (higher is better)")
    ax.set_xlim(0, max(mbs) * 1.25)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", nargs=4, metavar=("REMOTE", "CACHE", "SAMPLES", "DATASET"))
    p.add_argument("--dataset", choices=["tokens", "images"], default="tokens")
    p.add_argument("--samples", type=int, help="default: 150,000 tokens or 3,000 images")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--libs", default="ours,mosaic")
    p.add_argument("--timeout", type=float, default=900)
    p.add_argument("--out", type=Path, default=HERE / "results")
    a = p.parse_args()
    if a.worker:
        return worker(a.worker[0], a.worker[1], int(a.worker[2]), a.worker[3])
    samples = a.samples or {"tokens": 150_000, "images": 3_000}[a.dataset]

    sys.path.insert(0, str(REPO))
    from tests.storage.s3.server import aws_environment, start_moto

    libs = [lib for lib in a.libs.split(",") if lib]
    pythons = {lib: python_of(lib) for lib in libs}
    server = start_moto()
    scratch = Path(tempfile.mkdtemp(prefix="s3-stream-"))
    try:
        with aws_environment(server.endpoint, S3_ENDPOINT_URL=server.endpoint):
            t0 = time.perf_counter()
            keys, shard_bytes = publish(server.endpoint, samples, scratch, a.dataset)
            print(f"published {len(keys) - 1} shards, {shard_bytes / 1e6:.0f} MB, in "
                  f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
            runs: dict[str, list[dict]] = {"raw GET": [], "raw GET → file": [],
                                           **{lib: [] for lib in libs}}
            for rep in range(a.repeat):
                # os.sync() before each: no measurement pays for the previous one's writeback.
                os.sync()
                runs["raw GET"].append({"seconds": raw_get(server.endpoint, keys, None)})
                target = scratch / "raw"
                target.mkdir()
                os.sync()
                runs["raw GET → file"].append({"seconds": raw_get(server.endpoint, keys, target)})
                for lib in libs:
                    os.sync()
                    r = epoch(lib, pythons[lib], samples, a.dataset, scratch, a.timeout)
                    runs[lib].append({**r, "seconds": r["epoch_s"]})
                print(f"repeat {rep + 1}: " + ", ".join(
                    f"{k} {v[-1]['seconds']:.2f} s" for k, v in runs.items()), file=sys.stderr)
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    rows = {
        name: {k: statistics.median(r[k] for r in rs) for k in rs[0] if k != "samples"}
        for name, rs in runs.items()
    }
    md = table(rows, shard_bytes, samples)
    size = "2,048 B" if a.dataset == "tokens" else "80-120 KB"
    note = (
        f"\n\n`{a.dataset}`: {samples:,} samples of {size} + label, uncompressed, "
        f"{len(keys) - 1} shards of up to 64 MiB ({shard_bytes / 1e6:.0f} MB); "
        f"median of {a.repeat}; load average "
        f"{os.getloadavg()[0]:.1f} at the end; {os.cpu_count()} cores.\n"
    )
    print(md + note)
    a.out.mkdir(parents=True, exist_ok=True)
    stem = "s3_stream" + ("" if a.dataset == "tokens" else f"_{a.dataset}")
    title = f"# One epoch from loopback S3 (moto), `{a.dataset}`\n\n"
    (a.out / f"{stem}.md").write_text(title + md + note)
    (a.out / f"{stem}.json").write_text(json.dumps({"rows": rows, "runs": runs,
                                                       "shard_bytes": shard_bytes}, indent=1))
    plot(rows, shard_bytes, a.out / f"{stem}.png")


if __name__ == "__main__":
    main()
