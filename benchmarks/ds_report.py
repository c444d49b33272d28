"""The StreamingDataset benchmark's medians, checks, Markdown table and bar chart."""

from __future__ import annotations

import statistics
from pathlib import Path

LIBS = ("ours", "mosaic", "litdata")
ITER_ROWS = {
    "iter_1p_seq": "iterate, 1 process, shuffle off",
    "iter_1p_shuf": "iterate, 1 process, shuffle on",
    "iter_dl_seq": "DataLoader nw=2 bs=256, shuffle off",
    "iter_dl_shuf": "DataLoader nw=2 bs=256, shuffle on",
}
FLOOR_OF = {
    "iter_1p_seq": "iter_1p_seq",
    "iter_1p_shuf": "iter_1p_seq",
    "iter_dl_seq": "iter_dl_seq",
    "iter_dl_shuf": "iter_dl_seq",
}
ITER_TARGETS = {"mosaic": 2.0, "litdata": 1.2}  # ours / peer, samples/s
RESUME_TARGET = 1.10  # ours: resume-to-first-sample / start-to-first-sample
ORDER_TARGET = 0.5  # ours / mosaic, time and memory
METRICS = (
    "samples_per_s",
    "seconds",
    "construct_s",
    "first_s",
    "import_s",
    "open_s",
    "peak_mb",
    "baseline_rss_mb",
    "peak_rss_mb",
    "children_rss_mb",
    "extra_samples",
)
LABELS = ("first_label", "label_at_resume", "order_digest", "in_order")


def summarize(runs: list[dict]) -> dict:
    """Medians per (lib, case), the correctness checks and the ratios."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for run in runs:
        groups.setdefault((run["lib"], run["case"]), []).append(run)
    cells: dict[str, dict[str, dict]] = {}
    for (lib, case), group in groups.items():
        ok = [r for r in group if "error" not in r]
        cell: dict = {"runs": len(ok), "errors": [r["error"] for r in group if "error" in r]}
        for m in METRICS:
            values = [r[m] for r in ok if r.get(m) is not None]
            if values:
                cell[m] = statistics.median(values)
        for m in LABELS:
            values = sorted({r[m] for r in ok if r.get(m) is not None}, key=str)
            if values:
                cell[m] = values[0] if len(values) == 1 else values
        cell["load1"] = [round(r["load1"], 1) for r in group]
        cells.setdefault(lib, {})[case] = cell
    return {"cells": cells, "checks": _checks(cells), "ratios": _ratios(cells)}


def _get(cells, lib, case, metric):
    return cells.get(lib, {}).get(case, {}).get(metric)


def _checks(cells: dict) -> dict:
    checks: dict = {}
    for lib in LIBS:
        ref = cells.get(lib, {}).get("iter_1p_shuf", {})
        resumed = _get(cells, lib, "resume", "first_label")
        if resumed is not None and ref.get("label_at_resume") is not None:
            checks[f"{lib}: resumed sample == the one an uninterrupted pass yields at 90%"] = (
                resumed == ref["label_at_resume"]
            )
        first = _get(cells, lib, "first", "first_label")
        if first is not None and ref.get("first_label") is not None:
            checks[f"{lib}: first sample == first of a full pass"] = first == ref["first_label"]
        for case in ("iter_1p_shuf", "iter_dl_shuf"):
            if _get(cells, lib, case, "in_order") is not None:
                checks[f"{lib}: {case} is shuffled"] = _get(cells, lib, case, "in_order") is False
    for case in [*ITER_ROWS, "order"]:
        ours, peer = (
            _get(cells, "ours", case, "order_digest"),
            _get(cells, "mosaic", case, "order_digest"),
        )
        if ours is not None and peer is not None:
            checks[f"ours: {case} sample order == mosaic's"] = ours == peer
    return checks


def _ratios(cells: dict) -> dict:
    ratios: dict = {}
    for case in ITER_ROWS:
        ours = _get(cells, "ours", case, "samples_per_s")
        for other in ("mosaic", "litdata", "floor"):
            theirs = _get(
                cells, other, FLOOR_OF[case] if other == "floor" else case, "samples_per_s"
            )
            if ours and theirs:
                ratios[f"{case}/{other}"] = ours / theirs
    for lib in LIBS:
        first, resume = _get(cells, lib, "first", "seconds"), _get(cells, lib, "resume", "seconds")
        if first and resume:
            ratios[f"resume_over_first/{lib}"] = resume / first
    for case in ("first", "resume"):
        ours = _get(cells, "ours", case, "seconds")
        for other in ("mosaic", "litdata"):
            theirs = _get(cells, other, case, "seconds")
            if ours and theirs:
                ratios[f"{case}/{other}"] = ours / theirs
    for metric in ("seconds", "peak_mb"):
        ours, peer = _get(cells, "ours", "order", metric), _get(cells, "mosaic", "order", metric)
        if ours and peer:
            ratios[f"order_{metric}/mosaic"] = ours / peer
    return ratios


def _num(value, digits=0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _mark(ok: bool) -> str:
    return " ✓" if ok else " ✗"


def markdown(summary: dict, meta: dict) -> str:
    cells, ratios, checks = summary["cells"], summary["ratios"], summary["checks"]
    n = meta["samples"]
    versions = ", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items())
    lines = [
        f"{n:,} samples of 2,048 B + label (scale {meta['scale']:g}), median of "
        f"{meta['repeat']}, {meta['cpus']} CPUs, load average {meta['load_start'][0]:.1f} at the "
        f"start and {meta['load_end'][0]:.1f} at the end, started {meta['started']}, "
        f"{meta['minutes']} min. {versions}. `{meta['command']}`",
        "",
        "| case | floor | ours | mosaic | litdata | ours / mosaic | ours / litdata | "
        "ours / floor |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case, title in ITER_ROWS.items():
        row = [f"{title}, samples/s", _num(_get(cells, "floor", FLOOR_OF[case], "samples_per_s"))]
        row += [_num(_get(cells, lib, case, "samples_per_s")) for lib in LIBS]
        for other in ("mosaic", "litdata"):
            r = ratios.get(f"{case}/{other}")
            row.append("" if r is None else f"{r:.2f}x{_mark(r >= ITER_TARGETS[other])}")
        r = ratios.get(f"{case}/floor")
        row.append("" if r is None else f"{r:.2f}")
        lines.append("| " + " | ".join(row) + " |")

    def ms(lib, case):
        v = _get(cells, lib, case, "seconds")
        return None if v is None else v * 1e3

    for case, title in (
        ("first", "first sample (construct + next), ms"),
        ("resume", "first sample after resuming at 90%, ms"),
    ):
        row = [title, ""] + [_num(ms(lib, case), 1) for lib in LIBS]
        row += [_time_ratio(ratios.get(f"{case}/{o}")) for o in ("mosaic", "litdata")] + [""]
        lines.append("| " + " | ".join(row) + " |")
    row = [f"resume ÷ first (target for ours ≤ {RESUME_TARGET:.2f})", ""]
    for lib in LIBS:
        r = ratios.get(f"resume_over_first/{lib}")
        mark = _mark(r <= RESUME_TARGET) if (r is not None and lib == "ours") else ""
        row.append("n/a" if r is None else f"{r:.2f}{mark}")
    lines.append("| " + " | ".join(row + ["", "", ""]) + " |")
    row = ["import (in the first-sample process), s", ""]
    row += [_num(_get(cells, lib, "first", "import_s"), 2) for lib in LIBS]
    lines.append("| " + " | ".join(row + ["", "", ""]) + " |")

    order_n = meta.get("order_samples", 100_000_000)
    for metric, title, digits in (
        ("seconds", "s", 2),
        ("peak_mb", "peak memory MB (ru_maxrss rise)", 0),
    ):
        row = [f"epoch order, {order_n:.0e} samples, 8 ranks x 8 workers: {title}", ""]
        row += [_num(_get(cells, lib, "order", metric), digits) for lib in LIBS]
        r = ratios.get(f"order_{metric}/mosaic")
        row += ["" if r is None else f"{r:.2f}x{_mark(r <= ORDER_TARGET)}", "", ""]
        lines.append("| " + " | ".join(row) + " |")

    lines += [
        "",
        "Ratios of samples/s: higher is better (targets: ≥2x mosaic, ≥1.2x litdata). Ratios of "
        "times and memory: ours ÷ theirs, lower is better (target for the epoch order: ≤0.5x "
        "mosaic). The floor is a Python generator yielding the same dicts (no shuffle), consumed "
        "the same way; DataLoader rows use one collate for everyone (payloads as a list of "
        "bytes, labels as a tensor). litdata has no epoch-order function comparable to the MDS "
        "peers' (n/a).",
        "",
        "Peak RSS, MB (main process / largest DataLoader worker):",
        "",
        "| case | floor | ours | mosaic | litdata |",
        "|---|---:|---:|---:|---:|",
    ]
    for case, title in ITER_ROWS.items():
        row = [title]
        for lib in ("floor", *LIBS):
            c = cells.get(lib, {}).get(FLOOR_OF[case] if lib == "floor" else case)
            if not c or "peak_rss_mb" not in c:
                row.append("")
            elif case.startswith("iter_dl"):
                row.append(f"{c['peak_rss_mb']:,.0f} / {c.get('children_rss_mb', 0):,.0f}")
            else:
                row.append(f"{c['peak_rss_mb']:,.0f}")
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "Checks (every pass also checks that each label appears once and the payload bytes):",
        "",
    ]
    for name, ok in checks.items():
        lines.append(f"- {name}: {'yes' if ok else 'NO'}")
    for lib, why in meta.get("skipped", {}).items():
        lines.append(f"- not run: {lib} ({why})")
    for lib, by_case in cells.items():
        for case, c in by_case.items():
            if c["errors"]:
                lines.append(f"- {lib} {case}: {len(c['errors'])} failed run(s): {c['errors'][0]}")
    if meta.get("updated"):
        lines.append(f"- some cells rerun on {meta['updated']}: `{meta['update_command']}`")
    return "\n".join(lines) + "\n"


def _time_ratio(r) -> str:
    return "" if r is None else f"{r:.2f}x"


def plot(summary: dict, meta: dict, path: Path) -> bool:
    """Three panels: iteration samples/s (log), first-sample ms, epoch-order time and memory."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    cells, ratios = summary["cells"], summary["ratios"]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), gridspec_kw={"width_ratios": [3, 1.4, 1.2]})
    names = ("floor", *LIBS)
    colors = {"floor": "0.6", "ours": "C0", "mosaic": "C1", "litdata": "C2"}
    width = 0.8 / len(names)

    ax = axes[0]
    for k, lib in enumerate(names):
        for g, case in enumerate(ITER_ROWS):
            value = _get(cells, lib, FLOOR_OF[case] if lib == "floor" else case, "samples_per_s")
            if not value:
                continue
            x = g + (k - (len(names) - 1) / 2) * width
            ax.bar(x, value, width, color=colors[lib], label=lib if g == 0 else None)
            r = ratios.get(f"{case}/mosaic")
            if lib == "ours" and r:
                ax.annotate(f"{r:.1f}x", (x, value), ha="center", va="bottom", fontsize=7)
    ax.set_yscale("log")
    ax.set_xticks(
        range(len(ITER_ROWS)),
        [t.replace(", ", "\n").replace("DataLoader ", "DL ") for t in ITER_ROWS.values()],
        fontsize=8,
    )
    ax.set_ylabel("samples/s (log)")
    ax.set_title("Iteration from the local cache (label on ours: x mosaic)")
    ax.legend(fontsize=8)

    ax = axes[1]
    for k, case in enumerate(("first", "resume")):
        for g, lib in enumerate(LIBS):
            v = _get(cells, lib, case, "seconds")
            if v:
                ax.bar(
                    g + (k - 0.5) * 0.4,
                    v * 1e3,
                    0.4,
                    color=f"C{3 + k}",
                    label=("start" if k == 0 else "resume at 90%") if g == 0 else None,
                )
    ax.set_xticks(range(len(LIBS)), LIBS)
    ax.set_ylabel("ms")
    ax.set_title("Time to the first sample")
    ax.legend(fontsize=8)

    ax = axes[2]
    libs = [lib for lib in ("ours", "mosaic") if _get(cells, lib, "order", "seconds")]
    if libs:
        ax2 = ax.twinx()
        for g, lib in enumerate(libs):
            ax.bar(
                g - 0.2,
                _get(cells, lib, "order", "seconds"),
                0.4,
                color="C5",
                label="seconds" if g == 0 else None,
            )
            ax2.bar(
                g + 0.2,
                _get(cells, lib, "order", "peak_mb") / 1e3,
                0.4,
                color="C7",
                label="peak GB" if g == 0 else None,
            )
        ax.set_xticks(range(len(libs)), libs)
        ax.set_ylabel("seconds")
        ax2.set_ylabel("peak memory, GB")
        ax.set_ylim(0, ax.get_ylim()[1] * 1.3)  # room for the legend
        ax2.set_ylim(0, ax2.get_ylim()[1] * 1.3)
        handles = ax.get_legend_handles_labels()
        handles2 = ax2.get_legend_handles_labels()
        ax2.legend(handles[0] + handles2[0], handles[1] + handles2[1], fontsize=8, ncol=2)
    ax.set_title(f"Epoch order, {meta.get('order_samples', 0):.0e} samples")

    fig.suptitle(
        f"StreamingDataset, {meta['samples']:,} x 2 KB samples, median of {meta['repeat']}, "
        f"load {meta['load_start'][0]:.1f}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
