"""Running a conversion: parts in parallel processes, resumable, with progress and a summary.

Each part is written by its own `MDSWriter` (see `output.py` for the layout and what "done"
means). On a re-run, finished parts are kept if they were written with the same settings, and
only the others are converted. Ctrl-C stops the workers and raises `ConversionInterrupted`,
whose message says how far each split got; the same command continues from there.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from streaming.datasets.convert.base import (
    ConversionError,
    ConversionInterrupted,
    Converter,
    Part,
    RawDataError,
)
from streaming.datasets.convert.output import Output
from streaming.format.sizes import bytes_to_int

_counter: Any = None  # samples written, shared by the workers of one conversion


@dataclass
class SplitReport:
    """What one split of a conversion holds at the end."""

    split: str
    url: str
    parts: int
    resumed: int = 0
    samples: int = 0
    shards: int = 0
    raw_bytes: int = 0
    stored_bytes: int = 0
    skipped: int = 0


@dataclass
class ConvertReport:
    """The outcome of `convert`: one `SplitReport` per split, and the wall time."""

    dataset: str
    out: str
    splits: list[SplitReport] = field(default_factory=list)
    seconds: float = 0.0

    def format(self) -> str:
        """A short table for people."""
        lines = [f"Converted {self.dataset} to {self.out} in {self.seconds:.1f} s"]
        for s in self.splits:
            size = _human(s.stored_bytes)
            if s.stored_bytes != s.raw_bytes:
                size += f" ({_human(s.raw_bytes)} uncompressed)"
            extra = f", {s.resumed} parts kept from an earlier run" if s.resumed else ""
            if s.skipped:
                extra += f", {s.skipped:,} raw records skipped"
            lines.append(
                f"  {s.split}: {_count(s.samples, 'sample')}, {_count(s.shards, 'shard')} in "
                f"{_count(s.parts, 'part')}, {size}{extra} -> {s.url}"
            )
        return "\n".join(lines)


def convert(
    converter: Converter,
    raw: str,
    out: str,
    *,
    compression: str | None = None,
    hashes: list[str] | None = None,
    size_limit: int | str | None = None,
    workers: int | None = None,
    splits: list[str] | None = None,
    overwrite: bool = False,
    progress: bool = True,
    work_dir: str | None = None,
) -> ConvertReport:
    """Convert the raw dataset at `raw` to MDS at `out` (a path or a remote URL).

    Args:
        converter: the dataset's converter (`streaming.datasets.convert.get_converter`).
        raw: the raw dataset's local directory.
        out: the output root; each split goes to ``<out>/<split>``.
        compression: shard compression (``None``, ``"zstd:7"``...).
        hashes: hash algorithms to record per shard file (``["xxh64"]``).
        size_limit: shard size limit (``"64mb"``); None takes the converter's default.
        workers: worker processes (None: one per CPU; 1: convert in this process).
        splits: the splits to convert (None: every split in `raw`).
        overwrite: convert every part again, replacing what is at `out`.
        progress: show a progress bar.
        work_dir: local staging directory for a remote `out`.

    Raises:
        RawDataError: the raw data is not in the dataset's layout (naming the file).
        ConversionError: a part failed, or `out` holds a dataset that is not a conversion.
        ConversionInterrupted: Ctrl-C; the message says what is done.
    """
    start = time.perf_counter()
    if not os.path.isdir(raw):
        raise RawDataError(f"Raw dataset directory {raw!r} does not exist")
    parts = converter.plan(raw, splits)
    if not parts:
        raise RawDataError(f"Found nothing to convert in {raw!r}; expected {converter.layout}")
    settings = _settings(converter, compression, hashes, size_limit)
    output = Output(out, work_dir)
    try:
        reports = _convert_parts(converter, parts, output, settings, workers, overwrite, progress)
    finally:
        output.cleanup()
    return ConvertReport(converter.name, out, reports, time.perf_counter() - start)


def _convert_parts(
    converter: Converter,
    parts: list[Part],
    output: Output,
    settings: dict[str, Any],
    workers: int | None,
    overwrite: bool,
    progress: bool,
) -> list[SplitReport]:
    """Skip the parts already done, convert the others, merge each split's index."""
    by_split: dict[str, list[Part]] = {}
    for part in parts:
        by_split.setdefault(part.split, []).append(part)
    reports = {s: SplitReport(s, output.split_url(s), len(ps)) for s, ps in by_split.items()}
    todo: list[Part] = []
    for split, split_parts in by_split.items():
        if overwrite:
            output.clear_split(split)
        else:
            output.check_foreign(split)
        for part in split_parts:
            index = None if overwrite else output.part_index(part)
            if index is None:
                todo.append(part)
            else:
                _check_settings(index, settings, output.part_url(part))
                reports[split].resumed += 1
    _run_parts(converter, todo, output, settings, workers, progress, reports)
    for split, split_parts in by_split.items():
        output.merge(split, split_parts)
        _fill_totals(reports[split], output.split_index(split) or {"shards": []})
    return list(reports.values())


def _settings(
    converter: Converter, compression: str | None, hashes: list[str] | None, size_limit: Any
) -> dict[str, Any]:
    limit = converter.default_size_limit if size_limit is None else size_limit
    return {
        "columns": converter.columns,
        "compression": compression or None,
        "hashes": sorted(hashes or []),
        "size_limit": bytes_to_int(limit) if limit else None,
    }


def _check_settings(index: dict[str, Any], settings: dict[str, Any], where: str) -> None:
    for shard in index["shards"][:1]:
        had = {
            "columns": dict(zip(shard["column_names"], shard["column_encodings"], strict=True)),
            "compression": shard.get("compression"),
            "hashes": shard.get("hashes", []),
            "size_limit": shard.get("size_limit"),
        }
        for key, value in settings.items():
            if had[key] != value:
                raise ConversionError(
                    f"{where!r} was written with {key} {had[key]!r}, but this run asks for "
                    f"{value!r}; re-run with the earlier settings to continue, or pass "
                    "--overwrite to convert everything again"
                )


def _run_parts(
    converter: Converter,
    todo: list[Part],
    output: Output,
    settings: dict[str, Any],
    workers: int | None,
    progress: bool,
    reports: dict[str, SplitReport],
) -> None:
    from tqdm import tqdm

    if not todo:
        return
    workers = min(workers or os.cpu_count() or 1, len(todo))
    counts = [p.samples for p in todo]
    total = sum(c for c in counts if c is not None) if None not in counts else None
    bar = tqdm(total=total, unit=" samples", desc=f"convert {converter.name}", disable=not progress)
    done: set[Part] = set()
    current: Part | None = None
    try:
        if workers <= 1:
            for part in todo:
                current = part
                result = _convert_part(converter, part, output, settings, bar.update)
                _finished(part, result, reports, done)
                bar.set_postfix(parts=f"{len(done)}/{len(todo)}")
            return
        _run_pool(converter, todo, output, settings, workers, bar, reports, done)
    except KeyboardInterrupt:
        raise ConversionInterrupted(_stopped(todo, done, current, reports)) from None
    finally:
        bar.close()


def _run_pool(
    converter: Converter,
    todo: list[Part],
    output: Output,
    settings: dict[str, Any],
    workers: int,
    bar: Any,
    reports: dict[str, SplitReport],
    done: set[Part],
) -> None:
    # spawn: workers start clean (no inherited threads or locks), on every platform. A worker
    # that dies (out of memory, killed) breaks the pool, which ends the run with an error
    # instead of hanging.
    ctx = multiprocessing.get_context("spawn")
    counter = ctx.Value("q", 0)
    pool = ProcessPoolExecutor(workers, ctx, initializer=_init_worker, initargs=(counter,))
    try:
        pending = {
            pool.submit(_convert_part, converter, part, output, settings): part for part in todo
        }
        seen = 0
        while pending:
            finished, _ = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            for future in finished:
                part = pending.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    raise ConversionError(
                        f"A worker process died while converting {part.source} "
                        f"({part.split}/{part.name}), perhaps out of memory; finished parts are "
                        "kept: re-run with fewer --workers to continue"
                    ) from None
                _finished(part, result, reports, done)
            now = counter.value
            if finished:
                bar.set_postfix(parts=f"{len(done)}/{len(todo)}", refresh=False)
            bar.update(now - seen)
            seen = now
    finally:
        _stop(pool)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and end the workers now (not after their current part)."""
    processes = list(getattr(pool, "_processes", {}).values())  # no public handle on them
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join()


def _init_worker(counter: Any) -> None:
    global _counter
    _counter = counter
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us


def _convert_part(
    converter: Converter,
    part: Part,
    output: Output,
    settings: dict[str, Any],
    on_samples: Any = None,
) -> tuple[int, int]:
    """Write one part and publish it; returns (samples, skipped). Runs in a worker."""
    from streaming import MDSWriter

    staging = output.staging_dir(part)
    samples = skipped = 0
    unreported = 0
    writer = None
    try:
        writer = MDSWriter(
            out=staging,
            columns=settings["columns"],
            compression=settings["compression"],
            hashes=settings["hashes"],
            size_limit=settings["size_limit"],
            exist_ok=True,
        )
        for sample in converter.read_part(part):
            if sample is None:
                skipped += 1
                continue
            writer.write(sample)
            samples += 1
            unreported += 1
            if unreported >= 64:
                unreported = _report(unreported, on_samples)
        # Only a part whose writer finished is published: Ctrl-C leaves it unfinished.
        writer.finish()
        _report(unreported, on_samples)
        output.publish(part, staging)
    except (RawDataError, ConversionError):
        raise
    except Exception as err:
        raise ConversionError(
            f"Converting {part.source} ({part.split}/{part.name}) failed: "
            f"{type(err).__name__}: {err}"
        ) from err
    finally:
        if writer is not None:
            writer.close()  # unfinished (an error, Ctrl-C): free its staging directory
    return samples, skipped


def _report(n: int, on_samples: Any) -> int:
    if on_samples is not None:
        on_samples(n)
    elif _counter is not None:
        with _counter.get_lock():
            _counter.value += n
    return 0


def _finished(
    part: Part, result: tuple[int, int], reports: dict[str, SplitReport], done: set[Part]
) -> None:
    done.add(part)
    reports[part.split].skipped += result[1]


def _stopped(
    todo: list[Part], done: set[Part], current: Part | None, reports: dict[str, SplitReport]
) -> str:
    lines = ["Interrupted. Finished parts are kept:"]
    for split, report in reports.items():
        total = report.parts
        finished = report.resumed + sum(1 for p in done if p.split == split)
        lines.append(f"  {split}: {finished} of {total} parts done")
    missing = [p for p in todo if p not in done]
    if missing:
        first = current if current in missing else missing[0]
        lines.append(f"Stopped at {first.split}/{first.name} ({first.source}).")
    lines.append("Run the same command again to continue from there.")
    return "\n".join(lines)


def _fill_totals(report: SplitReport, index: dict[str, Any]) -> None:
    for shard in index["shards"]:
        report.samples += shard["samples"]
        report.shards += 1
        raw = shard["raw_data"]["bytes"]
        report.raw_bytes += raw
        report.stored_bytes += shard["zip_data"]["bytes"] if shard.get("zip_data") else raw


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n} B"
