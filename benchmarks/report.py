"""Turn the workers' runs into medians, a Markdown table and a bar chart."""

from __future__ import annotations

import statistics
from pathlib import Path

OP_ORDER = {"gen": 0, "write": 1, "random": 2, "iter": 3}
LIB_ORDER = {"generator": 0, "ours": 1, "mosaic": 2, "litdata": 3}
# The lead's targets, as ours / mosaic on throughput (samples/s and MB/s give the same ratio:
# every library moves the same payload).
TARGETS = {
    ("write", "tokens"): 3.0,
    ("write", "images"): 2.0,
    ("random", "tokens"): 3.0,
    ("random", "images"): 3.0,
}
METRICS = (
    "samples_per_s",
    "mb_per_s",
    "peak_rss_mb",
    "mean_us",
    "p50_us",
    "p99_us",
    "disk_bytes",
    "samples",
    "import_s",
)


def summarize(runs: list[dict]) -> list[dict]:
    """One row per (dataset, compression, lib, op): medians over the successful runs."""
    groups: dict[tuple, list[dict]] = {}
    for run in runs:
        lib = "generator" if run["op"] == "gen" else run["lib"]
        groups.setdefault((run["dataset"], run["compression"], lib, run["op"]), []).append(run)
    rows = []
    for (dataset, compression, lib, op), group in groups.items():
        ok = [r for r in group if "error" not in r]
        row = {
            "dataset": dataset,
            "compression": compression,
            "lib": lib,
            "op": op,
            "runs": len(ok),
            "errors": [r["error"] for r in group if "error" in r],
        }
        for m in METRICS:
            values = [r[m] for r in ok if r.get(m) is not None]
            if values:
                row[m] = statistics.median(values)
        if ok and "in_order" in ok[0]:
            row["in_order"] = all(r["in_order"] for r in ok)
        rows.append(row)
    by_key = {(r["dataset"], r["compression"], r["lib"], r["op"]): r for r in rows}
    for row in rows:
        if row["lib"] != "ours" or "samples_per_s" not in row:
            continue
        for peer in ("mosaic", "litdata"):
            other = by_key.get((row["dataset"], row["compression"], peer, row["op"]), {})
            if other.get("samples_per_s"):
                row[f"vs_{peer}"] = row["samples_per_s"] / other["samples_per_s"]
    rows.sort(
        key=lambda r: (
            r["dataset"] != "tokens",
            r["compression"],
            OP_ORDER[r["op"]],
            LIB_ORDER[r["lib"]],
        )
    )
    return rows


def _num(value, digits=0) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _ratio(row: dict, peer: str) -> str:
    value = row.get(f"vs_{peer}")
    if value is None:
        return ""
    target = TARGETS.get((row["op"], row["dataset"])) if peer == "mosaic" else None
    mark = "" if target is None else (" ✓" if value >= target else f" ✗ (<{target:g}x)")
    return f"{value:.2f}x{mark}"


def markdown(rows: list[dict], meta: dict) -> str:
    lines = [
        f"Scale {meta['scale']:g} (1 = 1,000,000 token samples of 2,048 B; 50,000 images of "
        f"80–120 KB), median of {meta['repeat']}, {meta['cpus']} CPUs, started {meta['started']}, "
        f"{meta['minutes']} min. `{meta['command']}`",
        "",
        "| library | dataset | compression | op | samples/s | MB/s | peak RSS MB | "
        "latency µs mean / p50 / p99 | ours / mosaic | ours / litdata |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if r["errors"] and not r["runs"]:
            cells = [f"failed: {r['errors'][0]}", "", "", "", "", ""]
        else:
            lat = ""
            if r["op"] == "random":
                lat = " / ".join(_num(r.get(k), 1) for k in ("mean_us", "p50_us", "p99_us"))
                if r.get("samples", 10_000) < 10_000:
                    lat += f" (n={r['samples']:.0f})"
            cells = [
                _num(r.get("samples_per_s")),
                _num(r.get("mb_per_s")),
                _num(r.get("peak_rss_mb")),
                lat,
                _ratio(r, "mosaic"),
                _ratio(r, "litdata"),
            ]
        lines.append(
            f"| {r['lib']} | {r['dataset']} | {r['compression']} | {r['op']} | "
            + " | ".join(cells)
            + " |"
        )
    lines += [
        "",
        "MB = 10⁶ payload bytes. Ratios are of throughput; ✓/✗ mark the targets "
        "(write ≥3x mosaic for tokens, ≥2x for images; random access ≥3x).",
    ]
    if meta.get("updated"):
        lines.append(f"Some cells rerun on {meta['updated']}: `{meta['update_command']}`.")
    if meta.get("skipped"):
        lines += [f"Not run: {lib} ({why})." for lib, why in meta["skipped"].items()]
    for r in rows:
        if r["errors"]:
            lines.append(
                f"- {r['lib']} {r['dataset']} {r['compression']} {r['op']}: "
                f"{len(r['errors'])} failed run(s): {r['errors'][0]}"
            )
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], meta: dict, path: Path) -> bool:
    """Bars of MB/s per library (log scale), one panel per op; ours labelled with x mosaic."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    ops = [op for op in ("write", "random", "iter") if any(r["op"] == op for r in rows)]
    libs = [lib for lib in ("ours", "mosaic", "litdata") if any(r["lib"] == lib for r in rows)]
    groups = sorted(
        {(r["dataset"], r["compression"]) for r in rows if r["op"] in ops},
        key=lambda g: (g[0] != "tokens", g[1]),
    )
    if not ops or not groups:
        return False
    fig, axes = plt.subplots(1, len(ops), figsize=(5 * len(ops), 4.5), squeeze=False)
    width = 0.8 / len(libs)
    for ax, op in zip(axes[0], ops, strict=True):
        for k, lib in enumerate(libs):
            for g, (dataset, compression) in enumerate(groups):
                row = next(
                    (
                        r
                        for r in rows
                        if (r["dataset"], r["compression"], r["lib"], r["op"])
                        == (dataset, compression, lib, op)
                    ),
                    None,
                )
                if not row or not row.get("mb_per_s"):
                    continue
                x = g + (k - (len(libs) - 1) / 2) * width
                ax.bar(x, row["mb_per_s"], width, color=f"C{k}", label=lib if g == 0 else None)
                if lib == "ours" and row.get("vs_mosaic"):
                    ax.annotate(
                        f"{row['vs_mosaic']:.1f}x",
                        (x, row["mb_per_s"]),
                        ha="center",
                        va="bottom",
                        fontsize=7,
                    )
        ax.set_yscale("log")
        ax.set_title(op)
        ax.set_xticks(range(len(groups)), [f"{d}\n{c}" for d, c in groups])
        ax.set_ylabel("MB/s (log)")
        ax.legend(fontsize=8)
    fig.suptitle(
        f"Throughput, scale {meta['scale']:g}, median of {meta['repeat']} (labels: ours / mosaic)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True
