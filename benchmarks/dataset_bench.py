"""StreamingDataset benchmarks: ours vs mosaicml-streaming 0.13.0 vs litdata, side by side.

    .venv/bin/python benchmarks/dataset_bench.py [--scale 1] [--repeat 3]
        [--libs ours,mosaic,litdata] [--cases iter,first,resume,order,floor]
        [--out benchmarks/results]

On the tokens data of `data.py` (1,000,000 x {tokens: 2,048 B, label} at scale 1), each library
in its own venv (`scripts/peer_venv.sh`), each measurement in a fresh `dataset_worker.py`
process:

* iter: a full pass from the local cache (remote=None), in one process and through a
  DataLoader(num_workers=2, batch_size=256), shuffle off and on (py1e for the MDS libraries);
* first: construct (shuffle on) + first sample; resume: the same after loading a state at 90% of
  the epoch (checked: the resumed sample is the one an uninterrupted pass yields there); ours
  with an empty node cache (a fresh ``XDG_CACHE_HOME``), so that both compute their epoch
  order, as a node's first process does (a later process maps it: a few ms);
* order: one epoch's order at --order-samples (default 10^8 x scale) samples, py1e, 1 node x 8
  ranks x 8 workers: seconds and peak memory (ours and mosaic; checked equal);
* floor: a generator yielding the same dicts, in one process and through the same DataLoader.

Each library writes the data once with its own writer; all datasets stay on disk for the run so
that each repeat runs every library back to back (fairer under changing load). Medians go to
OUT/dataset.json, dataset.md and dataset.png; progress lines to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ds_report
import precompile

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LIBS = ("ours", "mosaic", "litdata")
CASES = ("iter", "first", "resume", "order", "floor")
DISTRIBUTIONS = {"ours": "openstreaming", "mosaic": "mosaicml-streaming", "litdata": "litdata"}
ITER_CASES = [("1p", 0), ("1p", 1), ("dl", 0), ("dl", 1)]
ORDER_LIBS = ("ours", "mosaic")  # litdata has no comparable epoch-order function


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def python_of(lib: str) -> Path:
    """The interpreter of the library's venv (the peers' are built once and cached)."""
    if lib in ("ours", "floor"):
        return REPO / ".venv" / "bin" / "python"
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "peer_venv.sh"), lib],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return Path(proc.stdout.strip().splitlines()[-1]) / "bin" / "python"


def version_of(python: Path, lib: str) -> str | None:
    """The installed version of the library, or None when its adapter cannot be imported."""
    code = (
        f"import sys; sys.path.insert(0, {str(HERE)!r}); import ds_{lib}; "
        f"import importlib.metadata as m; print(m.version({DISTRIBUTIONS[lib]!r}))"
    )
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd="/")
    if proc.returncode:
        log(f"skipping {lib}: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
        return None
    return proc.stdout.strip()


class Runner:
    """Runs `dataset_worker.py` processes and collects their records."""

    def __init__(self, args: argparse.Namespace, pythons: dict[str, Path], scratch: Path):
        self.args, self.pythons, self.scratch = args, pythons, scratch
        self.runs: list[dict] = []

    def run(self, op: str, lib: str, *extra: str, keep: bool = True) -> dict:
        path = self.scratch / lib
        cmd = [str(self.pythons[lib]), str(HERE / "dataset_worker.py"), op, lib, str(path)]
        cmd += ["--scale", str(self.args.scale), *extra]
        load = os.getloadavg()[0]
        base = {"op": op, "lib": lib, "load1": load, "args": list(extra)}
        env, cache = None, None
        if lib == "ours" and op in ("first", "resume"):  # cold: the node's first process
            cache = tempfile.mkdtemp(prefix="xdg-", dir=self.scratch)
            env = {**os.environ, "XDG_CACHE_HOME": cache}
        try:
            proc = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=self.args.timeout,
                cwd=self.scratch,
                env=env,
            )
        except subprocess.TimeoutExpired:
            record = {**base, "error": f"timed out after {self.args.timeout:g} s"}
        else:
            if proc.returncode != 0:
                tail = proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
                record = {**base, "error": tail[0][:300], "stderr": proc.stderr[-4000:]}
            else:
                record = {**json.loads(proc.stdout.strip().splitlines()[-1]), **base}
        finally:
            if cache:
                shutil.rmtree(cache, ignore_errors=True)
        record["case"] = case_name(record)
        self.report(record)
        if keep:
            self.runs.append(record)
        return record

    @staticmethod
    def report(r: dict) -> None:
        head = f"{r['lib']:8} {r['case']:12} load {r['load1']:4.1f}"
        if "error" in r:
            log(f"{head}  FAILED: {r['error']}")
        elif r["op"] == "iter":
            log(
                f"{head}  {r['samples_per_s']:>11,.0f} samples/s  ({r['seconds']:.1f} s, "
                f"RSS {r['peak_rss_mb']:,.0f} MB)"
            )
        elif r["op"] in ("first", "resume"):
            log(
                f"{head}  {r['seconds'] * 1e3:8.1f} ms (construct {r['construct_s'] * 1e3:.1f} + "
                f"first {r['first_s'] * 1e3:.1f}; import {r['import_s']:.2f} s) "
                f"label {r['first_label']}"
            )
        elif r["op"] == "order":
            log(
                f"{head}  {r['seconds']:8.2f} s  peak +{r['peak_mb']:,.0f} MB  "
                f"digest {r['order_digest']}"
            )
        elif "seconds" in r:
            log(f"{head}  {r['seconds']:.1f} s")
        else:
            log(f"{head}  done")


def case_name(r: dict) -> str:
    if r["op"] == "iter":
        args = r.get("args", [])
        mode = args[args.index("--mode") + 1] if "--mode" in args else r.get("mode", "1p")
        shuffle = args[args.index("--shuffle") + 1] == "1" if "--shuffle" in args else False
        return f"iter_{mode}_{'shuf' if shuffle else 'seq'}"
    return r["op"]


def warm_page_cache(path: Path) -> None:
    """Read every file once, so that each library's first timed pass starts from a warm cache."""
    for entry in sorted(path.rglob("*")):
        if entry.is_file():
            with open(entry, "rb") as f:
                while f.read(1 << 24):
                    pass


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
    p.add_argument("--scale", type=float, default=1.0, help="fraction of the 1,000,000 samples")
    p.add_argument("--repeat", type=int, default=3, help="runs per measurement (median kept)")
    p.add_argument("--libs", type=csv(LIBS), default=list(LIBS))
    p.add_argument("--cases", type=csv(CASES), default=list(CASES))
    p.add_argument("--out", type=Path, default=HERE / "results", help="results folder")
    p.add_argument(
        "--scratch", type=Path, help="where datasets are written (default benchmarks/out/...)"
    )
    p.add_argument(
        "--order-samples",
        type=int,
        help="samples of the epoch-order case (default 10^8 x scale, at least 10^5)",
    )
    p.add_argument("--timeout", type=float, default=3600, help="seconds per worker process")
    p.add_argument("--keep-data", action="store_true", help="leave the datasets in --scratch")
    p.add_argument(
        "--update",
        action="store_true",
        help="keep the runs in OUT/dataset.json of every (lib, case) this invocation does not run",
    )
    return p.parse_args()


def main() -> None:
    args = parse_args()
    precompile.compile_ours()
    if args.order_samples is None:
        args.order_samples = max(100_000, int(round(100_000_000 * args.scale)))
    args.out.mkdir(parents=True, exist_ok=True)
    scratch = (args.scratch or HERE / "out" / "scratch-dataset").resolve()
    scratch.mkdir(parents=True, exist_ok=True)

    pythons, versions, skipped = {}, {}, {}
    for lib in args.libs:
        try:
            python = python_of(lib)
        except subprocess.CalledProcessError as e:
            skipped[lib] = f"no venv ({e})"
            continue
        if (version := version_of(python, lib)) is None:
            skipped[lib] = "its adapter does not import"
            continue
        pythons[lib], versions[lib] = python, version
    pythons["floor"] = python_of("floor")
    libs = [lib for lib in args.libs if lib in pythons]
    runner = Runner(args, pythons, scratch)
    started = time.time()
    load_start = os.getloadavg()
    log(f"libraries {versions}; scale {args.scale:g}; load {load_start[0]:.1f}")

    needs_data = {"iter", "first", "resume"} & set(args.cases)
    written = []
    try:
        if needs_data:
            for lib in libs:
                shutil.rmtree(scratch / lib, ignore_errors=True)
                record = runner.run("write", lib, keep=False)
                if "error" in record:
                    skipped[lib] = f"write failed: {record['error']}"
                    continue
                written.append(lib)
                warm_page_cache(scratch / lib)
        states = {}
        if "resume" in args.cases:
            for lib in written:
                record = runner.run("state", lib, keep=False)
                if "error" not in record:
                    states[lib] = scratch / f"state-{lib}.json"
                    states[lib].write_text(json.dumps(record["state"]))
        for rep in range(args.repeat):
            log(f"repeat {rep + 1} of {args.repeat}")
            if "floor" in args.cases:
                for mode in ("1p", "dl"):
                    runner.run("iter", "floor", "--mode", mode, "--shuffle", "0")
            if "iter" in args.cases:
                for mode, shuffle in ITER_CASES:
                    for lib in written:
                        runner.run("iter", lib, "--mode", mode, "--shuffle", str(shuffle))
            for lib in written:
                if "first" in args.cases:
                    runner.run("first", lib)
                if "resume" in args.cases and lib in states:
                    runner.run("resume", lib, "--state", str(states[lib]))
            if "order" in args.cases:
                for lib in [lib for lib in ORDER_LIBS if lib in libs]:
                    runner.run("order", lib, "--order-samples", str(args.order_samples))
    finally:
        if not args.keep_data:
            for lib in written:
                shutil.rmtree(scratch / lib, ignore_errors=True)
                (scratch / f"state-{lib}.json").unlink(missing_ok=True)

    meta = {
        "scale": args.scale,
        "samples": max(1, int(round(1_000_000 * args.scale))),
        "order_samples": args.order_samples,
        "repeat": args.repeat,
        "versions": versions,
        "started": time.strftime("%Y-%m-%d %H:%M", time.localtime(started)),
        "minutes": round((time.time() - started) / 60, 1),
        "cpus": os.cpu_count(),
        "load_start": [round(x, 2) for x in load_start],
        "load_end": [round(x, 2) for x in os.getloadavg()],
        "skipped": skipped,
        "command": "python benchmarks/dataset_bench.py " + " ".join(sys.argv[1:]),
    }
    runs = runner.runs
    results = args.out / "dataset.json"
    if args.update and results.exists():
        old = json.loads(results.read_text())
        rerun = {(r["lib"], r["case"]) for r in runs}
        runs = [r for r in old["runs"] if (r["lib"], r["case"]) not in rerun] + runs
        meta = {
            **old["meta"],
            "updated": meta["started"],
            "update_command": meta["command"],
            "update_load": meta["load_start"],
        }
    summary = ds_report.summarize(runs)
    results.write_text(json.dumps({"meta": meta, "summary": summary, "runs": runs}, indent=1))
    md = ds_report.markdown(summary, meta)
    (args.out / "dataset.md").write_text(md)
    plotted = ds_report.plot(summary, meta, args.out / "dataset.png")
    log(f"wrote {args.out / 'dataset.md'}, dataset.json{', dataset.png' if plotted else ''}")
    print(md)


if __name__ == "__main__":
    main()
