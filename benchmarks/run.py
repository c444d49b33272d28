"""Benchmark our library against mosaicml-streaming and litdata, side by side in one run.

    .venv/bin/python benchmarks/run.py [--scale 1] [--repeat 3] [--datasets tokens,images]
        [--compressions none,zstd] [--libs ours,mosaic,litdata] [--ops write,random,iter]
        [--out benchmarks/out]

Each measurement is one `worker.py` process started with that library's own venv (ours:
.venv; peers: `scripts/peer_venv.sh NAME`, built once). Per dataset, compression and library it
writes the dataset `--repeat` times (fresh directory each time), then reads the last copy
`--repeat` times per read op, then deletes it, so the disk holds one dataset at a time. Medians
go to <out>/results.json, results.md (paste-ready) and results.png.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import precompile
import report

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LIBS = ("ours", "mosaic", "litdata")
OPS = ("write", "random", "iter")


def python_of(lib: str) -> Path:
    """The interpreter of the library's venv (peers' are built once and cached)."""
    if lib == "ours":
        return REPO / ".venv" / "bin" / "python"
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "peer_venv.sh"), lib],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return Path(proc.stdout.strip().splitlines()[-1]) / "bin" / "python"


def ours_available(python: Path) -> str | None:
    """None when our writer and LocalDataset import; otherwise why not."""
    proc = subprocess.run(
        [str(python), "-c", "from streaming import MDSWriter, LocalDataset"],
        capture_output=True,
        text=True,
        cwd="/",
    )
    return None if proc.returncode == 0 else proc.stderr.strip().splitlines()[-1]


def run_worker(python: Path, lib, op, dataset, compression, path, args) -> dict:
    """Run one measurement; return its JSON, or a record with `error` when it failed."""
    cmd = [str(python), str(HERE / "worker.py"), lib, op, dataset, compression, str(path)]
    cmd += ["--scale", str(args.scale), "--random-budget", str(args.random_budget)]
    load = os.getloadavg()[0]
    base = {"lib": lib, "op": op, "dataset": dataset, "compression": compression, "load1": load}
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=args.timeout, cwd=path.parent
        )
    except subprocess.TimeoutExpired:
        return {**base, "error": f"timed out after {args.timeout} s"}
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        return {**base, "error": tail[0][:300], "stderr": proc.stderr[-4000:]}
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "load1": load}


def log(record: dict) -> None:
    head = f"{record['dataset']:6} {record['compression']:4} {record['lib']:7} {record['op']:6}"
    if "error" in record:
        print(f"{head}  FAILED: {record['error']}", file=sys.stderr, flush=True)
    else:
        extra = f"  p50 {record['p50_us']:.1f} us" if record["op"] == "random" else ""
        print(
            f"{head}  {record['samples_per_s']:>12,.0f} samples/s {record['mb_per_s']:>9,.1f} MB/s"
            f"  RSS {record['peak_rss_mb']:,.0f} MB  load {record['load1']:.1f}{extra}",
            file=sys.stderr,
            flush=True,
        )


def bench_one(python, lib, dataset, compression, scratch: Path, args, runs: list) -> None:
    """All repeats of all ops for one library on one dataset and compression."""
    path = scratch / f"{dataset}-{compression}-{lib}"
    writes = args.repeat if "write" in args.ops else 1  # reads need one copy on disk
    for _ in range(writes):
        shutil.rmtree(path, ignore_errors=True)
        record = run_worker(python, lib, "write", dataset, compression, path, args)
        log(record)
        if "write" in args.ops:
            runs.append(record)
        if "error" in record:
            shutil.rmtree(path, ignore_errors=True)
            return
    for op in [o for o in OPS if o != "write" and o in args.ops]:
        for _ in range(args.repeat):
            record = run_worker(python, lib, op, dataset, compression, path, args)
            log(record)
            runs.append(record)
            if "error" in record:
                break
    shutil.rmtree(path, ignore_errors=True)


def _cell(run: dict) -> tuple:
    return (run["dataset"], run["compression"], run["lib"], run["op"])


def parse_args() -> argparse.Namespace:
    def csv(choices):
        def parse(text: str) -> list[str]:
            items = [t for t in text.split(",") if t]
            bad = [t for t in items if t not in choices]
            if bad:
                raise argparse.ArgumentTypeError(f"unknown {bad}; choose from {list(choices)}")
            return items

        return parse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=1.0, help="fraction of the sample counts")
    p.add_argument("--repeat", type=int, default=3, help="runs per measurement (median kept)")
    p.add_argument("--datasets", type=csv(("tokens", "images")), default=["tokens", "images"])
    p.add_argument("--compressions", type=csv(("none", "zstd")), default=["none", "zstd"])
    p.add_argument("--libs", type=csv(LIBS), default=list(LIBS))
    p.add_argument("--ops", type=csv(OPS), default=list(OPS))
    p.add_argument("--out", type=Path, default=HERE / "out", help="results folder")
    p.add_argument("--scratch", type=Path, help="where datasets are written (default OUT/scratch)")
    p.add_argument("--timeout", type=float, default=3600, help="seconds per worker process")
    p.add_argument("--random-budget", type=float, default=30, help="seconds per random-access run")
    p.add_argument(
        "--update",
        action="store_true",
        help="keep the runs in OUT/results.json for every cell this invocation does not rerun",
    )
    return p.parse_args()


def main() -> None:
    args = parse_args()
    precompile.compile_ours()
    args.out.mkdir(parents=True, exist_ok=True)
    scratch = (args.scratch or args.out / "scratch").resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    pythons = {lib: python_of(lib) for lib in args.libs}
    skipped = {}
    if "ours" in pythons and (why := ours_available(pythons["ours"])):
        skipped["ours"] = why
        del pythons["ours"]
        print(f"skipping ours: {why}", file=sys.stderr)

    started = time.time()
    runs: list[dict] = []
    for dataset in args.datasets:
        gen = run_worker(
            pythons.get("ours", REPO / ".venv/bin/python"),
            "ours",
            "gen",
            dataset,
            "none",
            scratch / "gen",
            args,
        )
        log(gen)
        runs.append(gen)
        for compression in args.compressions:
            for lib, python in pythons.items():
                bench_one(python, lib, dataset, compression, scratch, args, runs)

    meta = {
        "scale": args.scale,
        "repeat": args.repeat,
        "started": time.strftime("%Y-%m-%d %H:%M", time.localtime(started)),
        "minutes": round((time.time() - started) / 60, 1),
        "cpus": os.cpu_count(),
        "skipped": skipped,
        "command": "python benchmarks/run.py " + " ".join(sys.argv[1:]),
    }
    results = args.out / "results.json"
    if args.update and results.exists():
        old = json.loads(results.read_text())
        rerun = {_cell(r) for r in runs}
        runs = [r for r in old["runs"] if _cell(r) not in rerun] + runs
        meta = {**old["meta"], "updated": meta["started"], "update_command": meta["command"]}
    rows = report.summarize(runs)
    results.write_text(json.dumps({"meta": meta, "rows": rows, "runs": runs}, indent=1))
    md = report.markdown(rows, meta)
    (args.out / "results.md").write_text(md)
    print(md)
    if report.plot(rows, meta, args.out / "results.png"):
        print(f"wrote {args.out / 'results.png'}", file=sys.stderr)


if __name__ == "__main__":
    main()
