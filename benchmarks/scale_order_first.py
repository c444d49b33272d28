"""Case (d) of `scale_order.py`: time to the first sample, fresh and after resuming at 90%.

Runner side: `case_first` makes the datasets (`scale_order_data`: one int32 column, shards of
1,000), then for each size, repeat and library starts a fresh process of this file in that
library's venv:

    <venv>/bin/python benchmarks/scale_order_first.py first|resume|state LIB DIR --samples N

* ``first``: import the adapter (`ds_<lib>.py`, as `dataset_bench.py`), construct the dataset
  with shuffle on and batch 256 (``ds_<lib>.dataset``), ``next(iter(ds))``;
* ``resume``: the same with the state at 90% of the epoch loaded before iterating
  (``ds_<lib>.load_state``: ``load_state_dict`` with the peer's keys for ours and mosaic;
  litdata's own ``state_dict(...)``, made by ``state`` in another process);
* timed: construct + first sample (``seconds``), from after the imports. Checked: the label is
  in range; ours' and mosaic's first and resumed labels are equal.

Ours runs with a fresh ``XDG_CACHE_HOME`` per process (a private, empty node cache), so neither
an index sidecar nor a shared epoch order left by an earlier run is reused: every figure is a
cold start, the first process of a node.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BATCH = 256
RESUME_AT = 0.9


# ---- worker (runs in the library's venv) -----------------------------------------------------


def worker_main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("op", choices=["first", "resume", "state"])
    p.add_argument("lib", choices=["ours", "mosaic", "litdata"])
    p.add_argument("dir")
    p.add_argument("--samples", type=int, required=True)
    p.add_argument("--state", help="JSON file of the state (op resume)")
    a = p.parse_args()
    sys.path.insert(0, str(HERE))
    t0 = time.perf_counter()
    mod = importlib.import_module(f"ds_{a.lib}")
    import_s = time.perf_counter() - t0
    at = int(a.samples * RESUME_AT)
    if a.op == "state":
        print(json.dumps({"state": mod.resume_state(a.dir, at)}), flush=True)
        return
    state = json.loads(Path(a.state).read_text()) if a.op == "resume" else None
    t0 = time.perf_counter()
    ds = mod.dataset(a.dir, True, BATCH)
    t1 = time.perf_counter()
    if state is not None:
        mod.load_state(ds, state)
    sample = next(iter(ds))
    t2 = time.perf_counter()
    label = int(sample["label"])
    if not 0 <= label < a.samples:
        raise AssertionError(f"{a.lib}: label {label} out of range [0, {a.samples})")
    import resource

    print(
        json.dumps(
            {
                "seconds": t2 - t0,
                "construct_s": t1 - t0,
                "first_s": t2 - t1,
                "import_s": import_s,
                "label": label,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3,
            }
        ),
        flush=True,
    )


# ---- runner ----------------------------------------------------------------------------------


def _run(python: str, args: list[str], env: dict | None, timeout: float) -> dict:
    cmd = [python, str(HERE / "scale_order_first.py"), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd="/")
    if proc.returncode:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1][:300],
                "stderr": proc.stderr[-3000:]}  # fmt: skip
    return json.loads(proc.stdout.strip().splitlines()[-1])


def case_first(args, pythons: dict[str, str], log) -> dict[str, Any]:
    """Case (d) for every library and size; medians of ``--repeat`` runs."""
    import scale_order_data

    libs = [lib for lib in args.first_libs if lib in pythons]
    checked = scale_order_data.verify({k: v for k, v in pythons.items() if k == "litdata"})
    log("(d) generated files checked against MDSWriter's and BinaryWriter's")
    root = Path(args.scratch) / "first-data"
    root.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"case": "first", "libs": libs, "sizes": args.first_samples,
                              "repeat": args.repeat, "runs": [], "table": {}}  # fmt: skip
    for samples in args.first_samples:
        begin = time.perf_counter()
        paths = scale_order_data.make(root, samples, pythons, checked["litdata_config"])
        log(f"(d) {samples:,} samples: data ready in {time.perf_counter() - begin:.1f} s")
        states: dict[str, str] = {}
        for lib in libs:
            where = paths["litdata"] if lib == "litdata" else paths["mds"]
            record = _run(pythons[lib], ["state", lib, where, "--samples", str(samples)], None,
                          args.first_timeout)  # fmt: skip
            if "error" in record:
                log(f"(d) {lib}: state failed: {record['error']}")
                continue
            path = root / f"state-{lib}-{samples}.json"
            path.write_text(json.dumps(record["state"]))
            states[lib] = str(path)
        for rep in range(args.repeat):
            for lib in libs:
                where = paths["litdata"] if lib == "litdata" else paths["mds"]
                # Alternate which case runs first: a process started just after one that freed
                # much memory pays for it on this machine (its predecessor's pages are being
                # handed back), so a fixed order would favour one case.
                for case in ("first", "resume")[:: 1 if rep % 2 == 0 else -1]:
                    if case == "resume" and lib not in states:
                        continue
                    extra = ["--state", states[lib]] if case == "resume" else []
                    env = None
                    cache = None
                    if lib == "ours":
                        cache = tempfile.mkdtemp(prefix="xdg-", dir=args.scratch)
                        env = {**os.environ, "XDG_CACHE_HOME": cache}
                    load = os.getloadavg()[0]
                    try:
                        record = _run(pythons[lib],
                                      [case, lib, where, "--samples", str(samples), *extra],
                                      env, args.first_timeout)  # fmt: skip
                    except subprocess.TimeoutExpired:
                        record = {"error": f"timed out after {args.first_timeout:g} s"}
                    finally:
                        if cache:
                            shutil.rmtree(cache, ignore_errors=True)
                    record.update(lib=lib, case=case, samples=samples, repeat=rep, load1=load)
                    result["runs"].append(record)
                    if "error" in record:
                        log(f"(d) {lib:8} {samples:>11,} {case:6} FAILED: {record['error']}")
                    else:
                        log(f"(d) {lib:8} {samples:>11,} {case:6} {record['seconds'] * 1e3:9.1f} "
                            f"ms (construct {record['construct_s'] * 1e3:.1f}), label "
                            f"{record['label']}, load {load:.1f}")  # fmt: skip
    for samples in args.first_samples:
        for lib in libs:
            for case in ("first", "resume"):
                key = (lib, case, samples)
                ok = [r for r in result["runs"] if "error" not in r]
                times = [r["seconds"] for r in ok if (r["lib"], r["case"], r["samples"]) == key]
                if times:
                    result["table"][f"{samples}/{case}/{lib}"] = statistics.median(times)
    labels: dict[tuple, set] = {}
    for r in result["runs"]:
        if "error" not in r and r["lib"] in ("ours", "mosaic"):
            labels.setdefault((r["samples"], r["case"]), set()).add(r["label"])
    result["ours_mosaic_same_labels"] = all(len(v) == 1 for v in labels.values())
    targets = {}
    for samples, limit in ((1_000_000, 0.05), (100_000_000, 1.0)):
        first = result["table"].get(f"{samples}/first/ours")
        resume = result["table"].get(f"{samples}/resume/ours")
        if first is not None:
            targets[f"{samples:.0e} first <= {limit:g} s"] = first <= limit
        if resume is not None:
            targets[f"{samples:.0e} resumed <= {1.1 * limit:g} s"] = resume <= 1.1 * limit
        if first is not None and resume is not None:
            targets[f"{samples:.0e} resumed <= 1.1x first"] = resume <= 1.1 * first
    result["targets"] = targets
    return result


if __name__ == "__main__":
    worker_main()
