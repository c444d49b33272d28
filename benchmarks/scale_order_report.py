"""Tables and chart of `scale_order.py`'s results (``scale_order.json``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _ok(flag: bool | None) -> str:
    return "" if flag is None else (" ✓" if flag else " ✗")


def _node_md(r: dict[str, Any]) -> list[str]:
    ours, peer = r.get("ours"), r.get("mosaic")
    mode = r.get("mode", "spawn")
    how = {
        "fork": "8 rank interpreters, each forking its 8 workers at go (DataLoader, fork start)",
        "spawn": "64 separate interpreters, one per worker (spawn start: an upper bound)",
    }[mode]
    lines = [
        f"### (a) Epoch order on one node, {mode}: {r['samples']:,} samples "
        f"({r['shards']:,} shards), py1e, 1 node x 8 ranks x 8 workers, batch 256; {how}"
        + (
            " (ours: WHOLE-EPOCH STAND-IN, not the windowed order)"
            if r["impl"] == "standin"
            else ""
        ),  # fmt: skip
        "",
        "| figure | ours | mosaic | ours / mosaic | target |",
        "|---|---:|---:|---:|---|",
    ]
    rows = [
        (
            "node CPU-s, whole processes (wait4, less hashing)",
            "cpu_total_s",
            "{:,.1f}",
            "cpu_total <= 0.3x",
        ),  # fmt: skip
        ("node CPU-s, go to last ID", "cpu_work_s", "{:,.1f}", "cpu_work <= 0.3x"),
        (
            "CPU-s hashing the IDs for the check (not in the above)",
            "cpu_hashing_s",
            "{:,.1f}",
            None,
        ),  # fmt: skip
        ("node PSS peak (summed, sampled), MB", "pss_peak_mb", "{:,.0f}", "pss_peak <= 0.5x"),
        ("node PSS at the hold point, MB", "pss_hold_mb", "{:,.0f}", "pss_hold <= 0.5x"),
        ("node PSS at ready (interpreters + imports), MB", "pss_ready_mb", "{:,.0f}", None),
        ("node PSS peak above ready, MB", "pss_peak_above_ready_mb", "{:,.0f}", None),
        ("node PSS at the hold point above ready, MB", "pss_hold_above_ready_mb", "{:,.0f}", None),
        ("sum of processes' peak RSS, MB", "maxrss_sum_mb", "{:,.0f}", None),
        ("largest process peak RSS, MB", "maxrss_max_mb", "{:,.0f}", None),
        (
            "first sample ID, max over workers, s",
            "first_id_max_s",
            "{:.3f}",
            "every first id <= 1 s",
        ),  # fmt: skip
        ("first sample ID, median, s", "first_id_median_s", "{:.3f}", None),
        ("open (ours: open_node_order returned), max, s", "open_max_s", "{:.3f}", None),
        ("last sample ID, max, s", "last_id_max_s", "{:.2f}", None),
        ("all interpreters ready (start + imports), s", "start_all_ready_s", "{:.1f}", None),
    ]
    targets = r.get("targets", {})
    for label, key, fmt, target in rows:
        a = fmt.format(ours[key]) if ours and key in ours else "n/a"
        b = fmt.format(peer[key]) if peer and key in peer else "n/a"
        both = a != "n/a" and b != "n/a" and peer[key]
        ratio = f"{ours[key] / peer[key]:.2f}x" if both and key != "open_max_s" else ""
        mark = f"{target}{_ok(targets.get(target))}" if target and target in targets else ""
        lines.append(f"| {label} | {a} | {b} | {ratio} | {mark} |")
    if "ids_equal_per_worker" in r:
        lines += ["", f"IDs equal to the peer's for every worker (sha1 per worker): "
                      f"**{r['ids_equal_per_worker']}**."]  # fmt: skip
    return lines


def _part_md(r: dict[str, Any]) -> list[str]:
    lines = [
        f"### (b) One node's part of a {r['samples']:,}-sample epoch on 8 nodes "
        "(8 canonical nodes, py1e defaults, 8 ranks x 8 workers per node)",
        "",
        "| node | wall s | CPU s | first window s | peak RSS MB (VmHWM) | peak anon MB | "
        "order file MB | dtype |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in r["runs"]:
        lines.append(
            f"| {row['node']} | {row['seconds']:.1f} | {row['cpu_s']:.1f} | "
            f"{row['first_publish_s'] or 0:.2f} | "
            f"{row['peak_rss_mb']:,.0f} | {row['peak_anon_mb']:,.0f} | {row['file_mb']:,.0f} | "
            f"{row['dtype']} |"
        )
    t = r.get("targets", {})
    lines += ["", "Targets: " + ", ".join(f"{k}{_ok(v)}" for k, v in t.items()) + "."]
    peer = r["peer"]
    m = peer["measured"]
    lines += [
        "",
        f"The peer is not run: each node's local leader computes the whole epoch, all 8 nodes' "
        f"parts, with `generate_work` (its peak measured at {m['samples']:,} samples: "
        f"{m['leader_peak_mb']:,.0f} MB ({m['source']}); linear in the samples, so about "
        f"**{peer['leader_peak_gb_estimate']:,.0f} GB** at {peer['samples']:,}), then copies "
        f"the whole {peer['output_array_gb']:,.0f} GB int64 array into `/dev/shm` for its "
        f"workers. This machine has 24 GB.",
    ]
    return lines


def _first_md(r: dict[str, Any]) -> list[str]:
    libs = r["libs"]
    lines = [
        "### (d) Time to the first sample (fresh process: construct + first sample), median of "
        f"{r['repeat']}",
        "",
        "| samples | case | " + " | ".join(libs) + " | ours / mosaic | ours / litdata |",
        "|---:|---|" + "---:|" * (len(libs) + 2),
    ]
    for size in r["sizes"]:
        for case in ("first", "resume"):
            cells = {lib: r["table"].get(f"{size}/{case}/{lib}") for lib in libs}
            fmt = [f"{cells[lib] * 1e3:,.1f} ms" if cells[lib] else "n/a" for lib in libs]
            ours, mosaic, lit = (cells.get(k) for k in ("ours", "mosaic", "litdata"))
            ratios = [f"{ours / other:.2f}x" if ours and other else "" for other in (mosaic, lit)]
            label = "first" if case == "first" else "after resume at 90%"
            lines.append(f"| {size:,} | {label} | " + " | ".join(fmt + ratios) + " |")
    t = r.get("targets", {})
    lines += ["", "Targets (ours): " + ", ".join(f"{k}{_ok(v)}" for k, v in t.items()) + "."]
    same = r.get("ours_mosaic_same_labels")
    lines += [f"Ours' first and resumed samples equal mosaic's: **{same}**."]
    return lines


def markdown(results: dict[str, Any]) -> str:
    """The Markdown tables of every case present."""
    lines: list[str] = []
    renders = (("node", _node_md), ("node_spawn", _node_md), ("part", _part_md),
               ("first", _first_md))  # fmt: skip
    for key, render in renders:
        if key in results:
            lines += render(results[key]) + [""]
            meta = results.get("meta", {}).get(key, {})
            if meta:
                lines += [f"`{meta['command']}` ({meta['started']}, load "
                          f"{meta['load_at_start'][0]:.1f}, {meta['cpus']} CPUs)", ""]  # fmt: skip
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> None:
    """Bars: (a) CPU-s, PSS and first ID, ours vs mosaic; (b) seconds and GB per node."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [k for k in ("node", "node_spawn", "part", "first") if k in results]
    if "node" in panels and "node_spawn" in panels:
        panels.remove("node_spawn")
    if not panels:
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for ax, key in zip(axes[0], panels, strict=True):
        r = results[key]
        if key.startswith("node"):
            libs = [lib for lib in ("ours", "mosaic") if lib in r]
            figures = [("node CPU-s", "cpu_total_s", 1.0), ("PSS peak GB", "pss_peak_mb", 1e-3),
                       ("first ID max s", "first_id_max_s", 1.0)]  # fmt: skip
            width = 0.8 / len(libs)
            for i, lib in enumerate(libs):
                xs = [j + i * width for j in range(len(figures))]
                ax.bar(xs, [r[lib][k] * s for _, k, s in figures], width, label=lib)
            ax.set_xticks([j + width * (len(libs) - 1) / 2 for j in range(len(figures))])
            ax.set_xticklabels([f[0] for f in figures])
            ax.set_yscale("log")
            ax.set_title(f"(a) one node, 64 workers ({r.get('mode', 'spawn')}), "
                         f"{r['samples']:.0e} samples")  # fmt: skip
            ax.legend()
        elif key == "part":
            runs = r["runs"]
            xs = range(len(runs))
            ax.bar([x - 0.2 for x in xs], [row["seconds"] for row in runs], 0.4, label="wall s")
            ax.bar([x + 0.2 for x in xs], [row["peak_rss_mb"] / 1e3 for row in runs], 0.4,
                   label="peak RSS GB")  # fmt: skip
            ax.set_xticks(list(xs))
            ax.set_xticklabels([f"node {row['node']}" for row in runs])
            ax.axhline(20, color="gray", ls=":", lw=1)
            ax.axhline(4, color="gray", ls="--", lw=1)
            ax.set_title(f"(b) one node's part, {r['samples']:.0e} samples, 8 nodes")
            ax.legend()
        else:
            libs = r["libs"]
            labels = [f"{s:.0e} {c}" for s in r["sizes"] for c in ("first", "resume")]
            width = 0.8 / len(libs)
            for i, lib in enumerate(libs):
                vals = [r["table"].get(f"{s}/{c}/{lib}") or 0 for s in r["sizes"]
                        for c in ("first", "resume")]  # fmt: skip
                ax.bar([j + i * width for j in range(len(labels))], vals, width, label=lib)
            ax.set_xticks([j + width * (len(libs) - 1) / 2 for j in range(len(labels))])
            ax.set_xticklabels(labels, rotation=20)
            ax.set_yscale("log")
            ax.set_ylabel("seconds to the first sample")
            ax.set_title("(d) first sample, fresh process")
            ax.legend()
        ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
