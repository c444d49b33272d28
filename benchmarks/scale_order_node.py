"""Case (a) of `scale_order.py`: one node's 64 DataLoader workers (8 ranks x 8 workers), for real.

Two modes, each run for both libraries:

* ``fork`` (the default): 8 rank processes (interpreters) that, at ``go``, each fork their 8
  workers, as a DataLoader does under the ``fork`` start method (Linux's default): the workers
  share their rank's interpreter and imports copy-on-write. 72 processes in all.
* ``spawn``: 64 separate interpreters, one per worker (as under ``spawn`` or ``forkserver``):
  an upper bound on what the interpreters cost.

For each library, the runner starts the interpreters (`scale_order_ours.py node` in our venv,
`scale_order_peer.py node` in the peer's), waits until all have imported what they need and
said ``ready``, then starts them together (``go``: one monotonic instant). Each worker gets its
sample IDs its library's way and holds them. Measured:

* each worker's time from ``go`` to its first sample ID (and to its last);
* the node's CPU seconds: the sum over the processes of user + system time from ``os.wait4``
  (the whole process: interpreter start, imports, the order; a rank's reaped workers included;
  less the CPU time of hashing the IDs for the check, which each worker reports), and the
  part from ``go`` (or a forked worker's start) to the last ID (``getrusage`` inside each
  worker, all its threads);
* the node's PSS (``/proc/<pid>/smaps_rollup``) summed over the processes (a rank's forked
  workers included): (0) at ``ready`` (the interpreters with their imports: the baseline, about
  24 MB each on both sides), (1) at the hold point: every process has its whole slice and none
  has exited, and (2) the peak of that sum over time, sampled every ``--pss-interval`` seconds
  from ``go`` to the hold point (the peer's leader peaks while it computes, long before the hold
  point); (1) and (2) also above the baseline; and the sum of the interpreters' peak RSS
  (``ru_maxrss``, which counts each shared page once per process; under ``fork``, a rank's
  figure is the largest of it and its workers');
* that ours' IDs equal the peer's, worker by worker (sha1 of the IDs as int64, padding dropped).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def pss_kb(pid: int) -> int:
    """The process's proportional set size (kB), 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return 0


def family(pids: list[int]) -> list[int]:
    """The processes and their children (a rank's forked workers)."""
    out = list(pids)
    for pid in pids:
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                out.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out


class PssSampler(threading.Thread):
    """The peak, over time, of the summed PSS of a set of processes and their children."""

    def __init__(self, pids: list[int], interval: float) -> None:
        super().__init__(daemon=True)
        self.pids, self.interval = pids, interval
        self.peak_kb, self.samples = 0, 0
        self.stop = threading.Event()

    def run(self) -> None:
        while True:
            total = sum(pss_kb(pid) for pid in family(self.pids))
            self.peak_kb, self.samples = max(self.peak_kb, total), self.samples + 1
            if self.stop.wait(self.interval):
                return


class NodeRunError(RuntimeError):
    """A node process failed; the message holds its stderr's tail."""


def _read(p: subprocess.Popen, word: str, log: Path) -> str:
    line = p.stdout.readline()
    if not line.startswith(word):
        tail = log.read_text()[-2000:] if log.exists() else ""
        raise NodeRunError(f"process {p.pid} sent {line!r}, expected {word!r}; stderr:\n{tail}")
    return line[len(word) :].strip()


def _say(procs: list[subprocess.Popen], line: str) -> None:
    for p in procs:
        p.stdin.write(line + "\n")
        p.stdin.flush()


def run_node(commands: list[list[str]], workdir: Path, pss_interval: float) -> dict[str, Any]:
    """Run one node's processes through the protocol of `scale_order_proc`."""
    logs = [workdir / f"proc{i:02d}.err" for i in range(len(commands))]
    procs = []
    start = time.perf_counter()
    try:
        for cmd, log in zip(commands, logs, strict=True):
            with open(log, "w") as err:
                procs.append(
                    subprocess.Popen(
                        cmd,
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=err,
                        text=True,
                        cwd=workdir,
                    )  # fmt: skip
                )
        for p, log in zip(procs, logs, strict=True):
            _read(p, "ready", log)
        started_s = time.perf_counter() - start
        ready_pss = [pss_kb(p.pid) for p in procs]
        sampler = PssSampler([p.pid for p in procs], pss_interval)
        sampler.start()
        t0 = time.clock_gettime(time.CLOCK_MONOTONIC)
        _say(procs, f"go {t0!r}")
        records = []
        for p, log in zip(procs, logs, strict=True):
            record = json.loads(_read(p, "done", log))  # a list from a rank that forked
            records.extend(record if isinstance(record, list) else [record])
        wall_s = time.clock_gettime(time.CLOCK_MONOTONIC) - t0
        hold_pids = family([p.pid for p in procs])
        hold_pss = [pss_kb(pid) for pid in hold_pids]
        sampler.stop.set()
        sampler.join()
        _say(procs, "hash")
        digests, hash_cpu = [], 0.0  # one per worker (a rank that forked sends all of its)
        for p, log in zip(procs, logs, strict=True):
            for item in _read(p, "hash", log).split():
                text, _, seconds = item.partition(":")
                digests.append(text)
                hash_cpu += float(seconds)
        _say(procs, "exit")
        usage = []
        for p in procs:
            _, status, rusage = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            usage.append(rusage)
        failed = [(p.pid, p.returncode) for p in procs if p.returncode]
        if failed:
            raise NodeRunError(f"node processes exited with errors: {failed}")
    finally:
        for p in procs:
            if p.returncode is None and p.poll() is None:
                p.kill()
                p.wait()
    cpu = [u.ru_utime + u.ru_stime for u in usage]
    first = sorted(r["first_s"] for r in records)
    return {
        "processes": len(hold_pids),
        "workers": len(records),
        "interpreters": len(procs),
        "start_all_ready_s": started_s,
        "wall_to_all_done_s": wall_s,
        "cpu_total_s": sum(cpu) - hash_cpu,
        "cpu_hashing_s": hash_cpu,
        "cpu_max_process_s": max(cpu),
        "cpu_work_s": sum(r["cpu_work_s"] for r in records),
        "pss_hold_mb": sum(hold_pss) / 1e3,
        "pss_hold_each_mb": [round(kb / 1e3, 1) for kb in hold_pss],
        "pss_peak_mb": max(sampler.peak_kb, sum(hold_pss)) / 1e3,
        "pss_samples": sampler.samples,
        "pss_ready_mb": sum(ready_pss) / 1e3,
        "pss_peak_above_ready_mb": (max(sampler.peak_kb, sum(hold_pss)) - sum(ready_pss)) / 1e3,
        "pss_hold_above_ready_mb": (sum(hold_pss) - sum(ready_pss)) / 1e3,
        "maxrss_sum_mb": sum(u.ru_maxrss for u in usage) / 1e3,
        "maxrss_max_mb": max(u.ru_maxrss for u in usage) / 1e3,
        "first_id_max_s": first[-1],
        "first_id_median_s": first[len(first) // 2],
        "last_id_max_s": max(r["last_s"] for r in records),
        "open_max_s": max(r.get("open_s", r["first_s"]) for r in records),
        "ids": sum(r["ids"] for r in records),
        "digests": digests,
        "records": records,
    }


def case_node(args, pythons: dict[str, str], log, mode: str = "fork") -> dict[str, Any]:
    """Case (a) for ours and the peer, one after the other, in one run.

    ``mode`` ``fork``: 8 rank processes (interpreters), each forking its 8 workers after
    ``go``, as a DataLoader does under the ``fork`` start method; ``spawn``: 64 separate
    interpreters, one per worker (as under ``spawn``: an upper bound on interpreter costs).
    """
    nodes, ranks, workers = 1, 8, 8
    n = ranks if mode == "fork" else ranks * workers
    fork = ["--fork"] if mode == "fork" else []
    common = ["--samples", str(args.samples), "--topology", f"{nodes}x{ranks}x{workers}", *fork]
    result: dict[str, Any] = {
        "case": "node",
        "mode": mode,
        "samples": args.samples,
        "shards": args.samples // 1000,
        "topology": [nodes, ranks, workers],
        "batch_size": 256,
        "impl": args.impl,
    }
    for lib in args.libs:
        workdir = Path(tempfile.mkdtemp(prefix=f"node-{lib}-", dir=args.scratch))
        try:
            if lib == "ours":
                script = str(HERE / "scale_order_ours.py")
                extra = ["--dir", str(workdir / "order"), "--impl", args.impl]
            else:
                script = str(HERE / "scale_order_peer.py")
                prefix = 700000 + os.getpid() % 100000  # shared-memory names of this run only
                extra = ["--prefix", str(prefix), "--lock", str(workdir / "barrier.lock"),
                         "--barrier", f"{prefix:06}_bench_barrier"]  # fmt: skip
            commands = [
                [pythons[lib], script, "node", *common, "--index", str(i), *extra] for i in range(n)
            ]
            log(f"(a) {lib}, {mode}: {n} interpreters, {args.samples:,} samples; load "
                f"{os.getloadavg()[0]:.1f}")  # fmt: skip
            load = os.getloadavg()
            row = run_node(commands, workdir, args.pss_interval)
            row["load_at_start"] = load
            result[lib] = row
            log(
                f"(a) {lib}, {mode}: CPU {row['cpu_total_s']:.1f} s "
                f"(work {row['cpu_work_s']:.1f} s), "
                f"PSS hold {row['pss_hold_mb']:,.0f} MB peak {row['pss_peak_mb']:,.0f} MB, "
                f"first id max {row['first_id_max_s']:.3f} s median "
                f"{row['first_id_median_s']:.3f} s, all done {row['wall_to_all_done_s']:.1f} s"
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            if lib != "ours":
                for name in (f"{prefix:06}_epoch_shape", f"{prefix:06}_epoch_data",
                             f"{prefix:06}_bench_barrier"):  # fmt: skip
                    Path("/dev/shm", name).unlink(missing_ok=True)
    if "ours" in result and "mosaic" in result:
        ours, peer = result["ours"], result["mosaic"]
        result["ids_equal_per_worker"] = ours["digests"] == peer["digests"]
        result["ratios"] = {
            "cpu_total": ours["cpu_total_s"] / peer["cpu_total_s"],
            "cpu_work": ours["cpu_work_s"] / peer["cpu_work_s"],
            "pss_hold": ours["pss_hold_mb"] / peer["pss_hold_mb"],
            "pss_peak": ours["pss_peak_mb"] / peer["pss_peak_mb"],
            "pss_peak_above_ready": ours["pss_peak_above_ready_mb"]
            / peer["pss_peak_above_ready_mb"],
            "pss_hold_above_ready": ours["pss_hold_above_ready_mb"]
            / peer["pss_hold_above_ready_mb"],
        }
        result["targets"] = {
            "cpu_total <= 0.3x": result["ratios"]["cpu_total"] <= 0.3,
            "cpu_work <= 0.3x": result["ratios"]["cpu_work"] <= 0.3,
            "pss_peak <= 0.5x": result["ratios"]["pss_peak"] <= 0.5,
            "pss_hold <= 0.5x": result["ratios"]["pss_hold"] <= 0.5,
            "every first id <= 1 s": ours["first_id_max_s"] <= 1.0,
            "ids equal": result["ids_equal_per_worker"],
        }
        log(f"(a) ratios ours/peer {result['ratios']}; IDs equal per worker: "
            f"{result['ids_equal_per_worker']}")  # fmt: skip
    return result
