"""Node-scale epoch order benchmark (issue 12, item 5, cases (a), (b) and (d)): ours against
mosaicml-streaming 0.13.0 (and litdata for (d)), each in its own venv, in one run.

    .venv/bin/python benchmarks/scale_order.py [--cases node,part,first] [--samples 100000000]
        [--part-samples 1000000000] [--first-samples 1000000,100000000]

* ``node`` (a): one node of 8 ranks x 8 workers, all 64 processes for real, 10^8 samples in
  100,000 shards of 1,000, py1e, default seed, batch 256 (`scale_order_node.py`).
* ``part`` (b): node 0's and node 7's parts of a 10^9-sample epoch on 8 nodes (8 canonical
  nodes, py1e defaults), each computed by one process into a memory-mapped file
  (`scale_order_ours.py part`); the peer's memory for the same epoch is estimated from its
  arrays (`peer_estimate`), not run.
* ``first`` (d): construct + first sample, and the same after ``load_state_dict`` at 90% of the
  epoch, at 10^6 and 10^8 samples, ours vs mosaic vs litdata, each in a fresh process in its own
  venv (`scale_order_first.py`).

Results: ``OUT/scale_order.json`` (every figure), ``scale_order.md`` (the tables) and
``scale_order.png``; ``--out`` defaults to ``benchmarks/results``. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import precompile  # noqa: E402
import scale_order_node  # noqa: E402
import scale_order_report  # noqa: E402


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def python_of(lib: str) -> str:
    """The interpreter of the library's venv (the peers' are built once and cached)."""
    if lib == "ours":
        return str(REPO / ".venv" / "bin" / "python")
    out = subprocess.run(["bash", str(REPO / "scripts" / "peer_venv.sh"), lib],
                         stdout=subprocess.PIPE, text=True, check=True).stdout  # fmt: skip
    return str(Path(out.strip().splitlines()[-1]) / "bin" / "python")


def settle(load: float, max_s: float) -> None:
    """Wait (at most `max_s` seconds) for the 1-minute load average to fall below `load`: (d)'s
    milliseconds are measured after (a) and (b), which leave the load high for minutes."""
    begin = time.monotonic()
    while os.getloadavg()[0] >= load and time.monotonic() - begin < max_s:
        time.sleep(5)
    log(f"load {os.getloadavg()[0]:.1f} after {time.monotonic() - begin:.0f} s of waiting")


def free_gb() -> float:
    with open("/proc/meminfo") as f:
        info = {line.split(":")[0]: int(line.split()[1]) for line in f}
    return info["MemAvailable"] / 1e6


# ---- case (b) ---------------------------------------------------------------------------------


def peer_estimate(samples: int, measured: dict[str, Any] | None) -> dict[str, Any]:
    """What the peer would need for an epoch of `samples` on 8 nodes (it is not run).

    Its ``_get_work`` has each node's local leader compute ``generate_work`` for the whole epoch,
    every node's part included (int64 arrays of all `samples` at once, several alive together),
    then copy that whole 5-D int64 array into ``/dev/shm`` for the node's workers. The leader's
    peak is scaled linearly from the one measured in case (a) (`measured`: its peak RSS at its
    sample count; ``generate_work`` is linear in the samples), or from the 10^8 figure of
    ``benchmarks/results/dataset.md`` (5,636 MB) when (a) was not run.
    """
    if measured is None:
        measured = {"samples": 100_000_000, "leader_peak_mb": 5636.0, "source": "dataset.md"}
    scale = samples / measured["samples"]
    return {
        "samples": samples,
        "measured": measured,
        "leader_peak_gb_estimate": measured["leader_peak_mb"] * scale / 1e3,
        "shared_memory_gb": samples * 8 / 1e9,
        "output_array_gb": samples * 8 / 1e9,
    }


def case_part(args, pythons: dict[str, str], node: dict | None) -> dict[str, Any]:
    """Case (b): node 0's and node 7's parts of a 10^9-sample epoch on 8 nodes; `node` is
    case (a)'s result (for the peer's estimate), if any."""
    measured = None
    if node and "mosaic" in node:
        measured = {
            "samples": node["samples"],
            "leader_peak_mb": node["mosaic"]["maxrss_max_mb"],
            "source": "case (a): the peer's local leader's peak RSS",
        }
    result: dict[str, Any] = {"case": "part", "samples": args.part_samples, "runs": []}
    for node in args.part_nodes:
        path = Path(tempfile.mkdtemp(prefix="part-", dir=args.scratch)) / f"node{node}.order"
        cmd = [pythons["ours"], str(HERE / "scale_order_ours.py"), "part",
               "--samples", str(args.part_samples), "--node", str(node), "--file", str(path),
               "--topology", "8x8x8", "--canonical", "8", "--impl", args.impl]  # fmt: skip
        log(f"(b) node {node} of 8, {args.part_samples:,} samples; free {free_gb():.1f} GB, "
            f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
        load = os.getloadavg()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        path.parent.rmdir() if path.parent.exists() and not any(path.parent.iterdir()) else None
        if proc.returncode:
            raise RuntimeError(f"(b) node {node} failed:\n{proc.stderr[-3000:]}")
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        row["load_at_start"] = load
        result["runs"].append(row)
        log(f"(b) node {node}: {row['seconds']:.1f} s wall ({row['cpu_s']:.1f} s CPU), peak RSS "
            f"{row['peak_rss_mb']:,.0f} MB (anon {row['peak_anon_mb']:,.0f} MB), "
            f"file {row['file_mb']:,.0f} MB")  # fmt: skip
    node0 = next((r for r in result["runs"] if r["node"] == 0), None)
    if node0 is not None:
        result["targets"] = {
            "node 0 <= 20 s": node0["seconds"] <= 20,
            "node 0 peak RSS <= 4 GB": node0["peak_rss_mb"] <= 4000,
        }
    result["peer"] = peer_estimate(args.part_samples, measured)
    return result


# ---- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", default="node,part,first", help="comma-separated: node,part,first")
    p.add_argument("--libs", default="ours,mosaic", help="(a): ours,mosaic")
    p.add_argument("--first-libs", default="ours,mosaic,litdata", help="(d)")
    p.add_argument("--samples", type=int, default=100_000_000, help="(a): samples")
    p.add_argument("--part-samples", type=int, default=1_000_000_000, help="(b): samples")
    p.add_argument("--part-nodes", default="0,7", help="(b): which nodes' parts")
    p.add_argument("--first-samples", default="1000000,100000000", help="(d): sizes")
    p.add_argument("--repeat", type=int, default=3, help="(d): runs per figure (median)")
    p.add_argument("--first-timeout", type=float, default=600, help="(d): seconds per process")
    p.add_argument("--impl", choices=["real", "standin"], default="real",
                   help="ours' node order: the project's, or a whole-epoch stand-in")  # fmt: skip
    p.add_argument("--node-modes", default="fork,spawn",
                   help="(a): fork (ranks fork workers), spawn (64 interpreters)")  # fmt: skip
    p.add_argument("--settle-load", type=float, default=1.0, help="(d): start below this load")
    p.add_argument("--settle-max-s", type=float, default=300, help="(d): longest wait for it")
    p.add_argument("--pss-interval", type=float, default=0.5, help="(a): PSS sampling period")
    p.add_argument("--out", default=str(HERE / "results"))
    p.add_argument("--scratch", default=None, help="default: benchmarks/out/scale-order")
    p.add_argument("--update", action="store_true", help="keep other cases of OUT's json")
    args = p.parse_args(argv)
    precompile.compile_ours()
    args.libs = args.libs.split(",")
    args.first_libs = args.first_libs.split(",")
    args.part_nodes = [int(x) for x in args.part_nodes.split(",")]
    args.first_samples = [int(x) for x in args.first_samples.split(",")]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    args.scratch = args.scratch or str(HERE / "out" / "scale-order")
    Path(args.scratch).mkdir(parents=True, exist_ok=True)
    cases = args.cases.split(",")
    unknown = set(cases) - {"node", "part", "first"}
    if unknown:
        p.error(f"unknown case(s) {sorted(unknown)}")
    pythons = {lib: python_of(lib) for lib in {"ours", *args.libs, *args.first_libs}}
    path = out / "scale_order.json"
    results: dict[str, Any] = json.loads(path.read_text()) if args.update and path.exists() else {}
    meta = {
        "command": " ".join(["python", "benchmarks/scale_order.py", *(argv or sys.argv[1:])]),
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "mem_available_gb": free_gb(),
        "load_at_start": os.getloadavg(),
    }
    for case in cases:
        if case == "first":
            settle(args.settle_load, args.settle_max_s)
        if case == "node":
            for mode in args.node_modes.split(","):
                key = "node" if mode == "fork" else f"node_{mode}"
                results[key] = scale_order_node.case_node(args, pythons, log, mode)
                results.setdefault("meta", {})[key] = meta
        elif case == "part":
            results["part"] = case_part(args, pythons, results.get("node_spawn"))
        else:
            import scale_order_first

            results["first"] = scale_order_first.case_first(args, pythons, log)
        results.setdefault("meta", {})[case] = meta
        path.write_text(json.dumps(results, indent=1) + "\n")
    md = scale_order_report.markdown(results)
    (out / "scale_order.md").write_text(md)
    scale_order_report.plot(results, out / "scale_order.png")
    log(f"wrote {path}, scale_order.md, scale_order.png")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
