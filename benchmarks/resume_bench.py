"""Resuming under Composer at 90% of a 1,000,000-sample epoch: ours against mosaicml-streaming.

    .venv/bin/python benchmarks/resume_bench.py [--samples 1000000] [--repeat 3] [--workers 0,2]

What is timed, in a fresh process per run (imports done before the clock starts), for each
library under Composer 0.32.1 (ours: ``streaming.integrations.composer.build_dataspec`` +
`StreamingCursor` in .venv; the peer: its ``StreamingDataset`` in a plain DataLoader, as
llm-foundry does, in its own venv from ``scripts/peer_venv.sh mosaic``):

* ``dataset``: building the dataset and DataLoader (the same whether fresh or resuming);
* ``Trainer``: ``Trainer(...)``; with ``load_path`` it loads the checkpoint there (model,
  optimizer, timestamp, and the dataset state, handed to ``dataset.load_state_dict``);
* ``fit -> batch``: from calling ``trainer.fit()`` to the first batch reaching the model (a
  callback stamps ``before_forward``, then stops the run);
* **total** = ``Trainer`` + ``fit -> batch``: what ``Trainer(load_path=...).fit()`` costs before
  it trains (Composer's form of Lightning's ``trainer.fit(..., ckpt_path=...)``).

``fresh`` starts epoch 0 from its first sample; ``resume`` loads a checkpoint at sample 900,000 of
epoch 0 (90%). The checkpoints are real Composer checkpoints made cheaply, once per library in its
own venv: a short run (2 batches, ``save_interval="2ba"``) writes one, then its saved position is
moved to 90%: the dataset state's ``sample_in_epoch`` (Composer's ``dataset_state`` and our
callback's copy) and Composer's timestamp (``batch``/``sample`` and their ``_in_epoch`` twins) are
set to 900,000 samples (28,125 batches of 32), and it is saved again. Both libraries resume from
the dataset state, so Composer does not spin through skipped batches.

Correctness, every run: the first batch's labels (label = sample index) must be the batch an
uninterrupted epoch trains at that position: positions 0.. (fresh) and 900,000.. (resume) of epoch
0's order, which each library computes for a fresh epoch (ours: ``epoch_sample_ids(0)``; the peer:
its ``generate_work(..., epoch=0, sample_in_epoch=0)``); the two orders must also agree.

Data: 1,000,000 samples of {tokens: 2,048 B, label: int} (``benchmarks/data.py``'s ``tokens``),
written once with our ``MDSWriter`` (no compression, 64 MiB shards) under ``--out``
(default ``benchmarks/out/resume``); both libraries read MDS. The table goes to stdout and
``benchmarks/results/resume.md``, every run to ``benchmarks/results/resume.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
LIBS = ("ours", "mosaic")
NAMES = {"ours": "ours", "mosaic": "mosaicml-streaming 0.13.0"}
BATCH = 32
SEED = 17
RESUME_AT = 0.9


# ---- in the library's own venv ----------------------------------------------------------------


def _collate(samples: list[dict[str, Any]]) -> dict[str, Any]:
    import numpy as np
    import torch

    tokens = np.stack([np.frombuffer(s["tokens"], np.uint8) for s in samples])
    labels = torch.tensor([int(s["label"]) for s in samples])
    return {"tokens": torch.from_numpy(tokens), "label": labels}


def _trainer_parts(lib: str, data: str, workers: int) -> tuple[Any, list[Any]]:
    """(train_dataloader, extra callbacks) as a user of `lib` writes them."""
    if lib == "ours":
        from streaming.integrations.composer import StreamingCursor, build_dataspec

        spec = build_dataspec(local=data, batch_size=BATCH, shuffle=True, shuffle_seed=SEED,
                              num_workers=workers, collate_fn=_collate)  # fmt: skip
        return spec, [StreamingCursor()]
    from torch.utils.data import DataLoader

    from streaming import StreamingDataset  # the peer's: this runs in its venv

    dataset = StreamingDataset(local=data, batch_size=BATCH, shuffle=True, shuffle_seed=SEED)
    return DataLoader(dataset, batch_size=BATCH, num_workers=workers, collate_fn=_collate), []


def _model() -> Any:
    import torch
    from composer.models import ComposerModel

    class Tiny(ComposerModel):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(1, 1)

        def forward(self, batch: dict[str, Any]) -> torch.Tensor:
            return self.layer(batch["tokens"][:, :8].float().mean(1, keepdim=True) / 255)

        def loss(self, outputs: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
            return outputs.pow(2).mean()

    return Tiny()


def _epoch_order(lib: str, data: str) -> Any:
    """Sample ids of a fresh epoch 0, in training order (1 rank, 1 worker)."""
    import numpy as np

    if lib == "ours":
        from streaming import StreamingDataset

        ours = StreamingDataset(local=data, batch_size=BATCH, shuffle=True, shuffle_seed=SEED)
        ours.state_dict(0, True)  # resolves num_canonical_nodes
        return ours.epoch_sample_ids(0, 0)
    from streaming.base.batching import generate_work  # noqa: I001

    from streaming import StreamingDataset  # the peer's

    peer = StreamingDataset(local=data, batch_size=BATCH, shuffle=True, shuffle_seed=SEED)
    peer.state_dict(0, True)
    world = peer._parallel_rank_world.detect_workers()
    ids = generate_work(peer.batching_method, peer, world, 0, 0)[0, 0, 0].ravel()
    return np.asarray(ids[ids != -1])


def _set_position(obj: Any, sample: int, batch: int) -> int:
    """Move every dataset state and Composer timestamp in a checkpoint to `sample`/`batch` of
    epoch 0; return how many were moved."""
    moved = 0
    if isinstance(obj, dict):
        if {"epoch", "sample_in_epoch", "num_canonical_nodes"} <= set(obj):
            obj["epoch"], obj["sample_in_epoch"] = 0, sample
            return 1
        if "Timestamp" in obj and isinstance(obj["Timestamp"], dict):
            ts = obj["Timestamp"]
            ts.update(epoch=0, epoch_in_iteration=0, batch=batch, batch_in_epoch=batch,
                      sample=sample, sample_in_epoch=sample)  # fmt: skip
            return 1
        for value in obj.values():
            moved += _set_position(value, sample, batch)
    return moved


def prepare(lib: str, data: str, folder: str) -> None:
    """Write this library's 90% checkpoint; print the epoch order's batches at 0 and 90%."""
    import warnings

    import torch
    from composer import Trainer

    warnings.filterwarnings("ignore")
    loader, callbacks = _trainer_parts(lib, data, 0)
    model = _model()
    trainer = Trainer(
        model=model, train_dataloader=loader, max_duration="2ba", device="cpu",
        optimizers=torch.optim.SGD(model.parameters(), lr=0.01), save_folder=folder,
        save_interval="2ba", save_filename="ba{batch}.pt", save_overwrite=True,
        callbacks=callbacks, progress_bar=False, log_to_console=False, loggers=[],
    )  # fmt: skip
    trainer.fit()
    trainer.close()
    checkpoint = torch.load(Path(folder) / "ba2.pt", weights_only=False)
    order = _epoch_order(lib, data)
    at = int(round(len(order) * RESUME_AT))
    assert at % BATCH == 0, "the resume position must be a whole number of batches"
    moved = _set_position(checkpoint["state"], at, at // BATCH)
    torch.save(checkpoint, Path(folder) / "resume.pt")
    print(json.dumps({
        "at": at, "moved": moved, "epoch_size": len(order),
        "fresh": order[:BATCH].tolist(), "resume": order[at:at + BATCH].tolist(),
    }))  # fmt: skip


def measure(lib: str, data: str, workers: int, load_path: str | None) -> None:
    """One timed start (fresh, or resuming from `load_path`); print its times and first batch."""
    import warnings

    import torch
    from composer import Trainer
    from composer.core import Callback

    warnings.filterwarnings("ignore")

    class FirstBatch(Exception):
        pass

    class Stamp(Callback):
        def before_forward(self, state: Any, logger: Any) -> None:
            self.at = time.perf_counter()
            self.labels = [int(i) for i in state.batch["label"]]
            raise FirstBatch

    stamp = Stamp()
    t0 = time.perf_counter()
    loader, callbacks = _trainer_parts(lib, data, workers)
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    t1 = time.perf_counter()
    trainer = Trainer(
        model=model, train_dataloader=loader, max_duration="1ep", device="cpu",
        optimizers=optimizer, load_path=load_path, callbacks=[*callbacks, stamp],
        progress_bar=False, log_to_console=False, loggers=[],
    )  # fmt: skip
    t2 = time.perf_counter()
    try:
        trainer.fit()
    except FirstBatch:
        pass
    print(json.dumps({
        "dataset_s": t1 - t0, "trainer_s": t2 - t1, "fit_s": stamp.at - t2,
        "total_s": stamp.at - t1, "labels": stamp.labels,
    }))  # fmt: skip


# ---- the driver (ours' venv) --------------------------------------------------------------------


def python_of(lib: str) -> str:
    if lib == "ours":
        return sys.executable
    script = str(REPO / "scripts" / "peer_venv.sh")
    proc = subprocess.run(["bash", script, lib], stdout=subprocess.PIPE, text=True, check=True)
    return str(Path(proc.stdout.strip().splitlines()[-1]) / "bin" / "python")


def run(python: str, *args: str, timeout: float = 600) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the peer: never ours
    env["PYTHONWARNINGS"] = "ignore"
    if python == sys.executable:
        env["PYTHONPATH"] = str(REPO)
    proc = subprocess.run([python, __file__, *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd="/")  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{proc.stdout[-2000:]}{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_data(folder: Path, samples: int) -> None:
    """The tokens dataset (at most `samples`), once: reused while its index says so."""
    index = folder / "index.json"
    if index.exists():
        shards = json.loads(index.read_text())["shards"]
        if sum(s["samples"] for s in shards) == samples:
            return
    shutil.rmtree(folder, ignore_errors=True)
    sys.path.insert(0, str(REPO / "benchmarks"))
    from data import DATASETS
    from data import samples as generate

    from streaming import MDSWriter

    spec = DATASETS["tokens"]
    start = time.perf_counter()
    with MDSWriter(out=str(folder), columns={"tokens": "bytes", "label": "int"},
                   size_limit=1 << 26) as writer:  # fmt: skip
        for sample in generate(spec, samples / spec.num_samples):
            writer.write(sample)
    print(f"wrote {samples:,} samples in {time.perf_counter() - start:.1f} s", file=sys.stderr)


def table(results: dict[str, Any], samples: int, workers: list[int]) -> str:
    rows = [
        "| library | workers | start | dataset s | Trainer(...) s | fit → 1st batch s | "
        "**total s** | resume / fresh |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for lib in LIBS:
        for w in workers:
            med = {mode: {k: statistics.median(r[k] for r in results[lib][str(w)][mode])
                          for k in ("dataset_s", "trainer_s", "fit_s", "total_s")}
                   for mode in ("fresh", "resume")}  # fmt: skip
            for mode in ("fresh", "resume"):
                m = med[mode]
                ratio = (f"{med['resume']['total_s'] / med['fresh']['total_s']:.2f}x"
                         if mode == "resume" else "")  # fmt: skip
                start = "fresh" if mode == "fresh" else f"resume at {int(samples * RESUME_AT):,}"
                rows.append(
                    f"| {NAMES[lib]} | {w} | {start} | {m['dataset_s']:.3f} | "
                    f"{m['trainer_s']:.3f} | {m['fit_s']:.3f} | **{m['total_s']:.3f}** | {ratio} |"
                )
    return "\n".join(rows)


def report(note: str, body: str) -> str:
    return (
        "# Time to the first trained batch, fresh and resumed at 90% (Composer)\n\n"
        f"{note}\n\n{body}\n\n"
        "total = `Trainer(...)` (with `load_path`, the checkpoint load) + `trainer.fit()` to the "
        "first batch reaching the model; the dataset and DataLoader are built before it (the "
        "`dataset` column). About 1.1 s of every `Trainer(...)` is Composer's own, whichever the "
        "library: `Trainer.__init__` calls `get_composer_env_dict()`, whose `cpuinfo."
        "get_cpu_info()` runs a subprocess. Every run's first batch was checked against the "
        "uninterrupted epoch's batch at that position. How the 90% checkpoints were made: see "
        "the docstring of `benchmarks/resume_bench.py`.\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell (median kept)")
    parser.add_argument("--workers", default="0,2", help="DataLoader workers, comma-separated")
    parser.add_argument("--libs", default=",".join(LIBS))
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out" / "resume")
    parser.add_argument("--results", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    libs = [lib for lib in LIBS if lib in args.libs.split(",")]
    workers = [int(w) for w in args.workers.split(",")]
    load_start, began = os.getloadavg(), time.time()

    data = args.out / "tokens"
    write_data(data, args.samples)
    pythons = {lib: python_of(lib) for lib in libs}
    expected: dict[str, dict[str, Any]] = {}
    for lib in libs:
        folder = args.out / f"ckpt-{lib}"
        shutil.rmtree(folder, ignore_errors=True)
        expected[lib] = run(pythons[lib], "_prepare", lib, str(data), str(folder))
        assert expected[lib]["moved"] >= 2, f"{lib}: no dataset state or timestamp was moved"
        print(f"{lib}: checkpoint at sample {expected[lib]['at']:,} of "
              f"{expected[lib]['epoch_size']:,}", file=sys.stderr)  # fmt: skip
    if len(libs) == 2:
        a, b = (expected[lib] for lib in libs)
        assert (a["fresh"], a["resume"]) == (b["fresh"], b["resume"]), "the epoch orders differ"

    results: dict[str, Any] = {lib: {str(w): {"fresh": [], "resume": []} for w in workers}
                               for lib in libs}  # fmt: skip
    for r in range(args.repeat):  # interleaved, so load drifts hit every cell alike
        for w in workers:
            for lib in libs:
                for mode in ("fresh", "resume"):
                    load = str(args.out / f"ckpt-{lib}" / "resume.pt") if mode == "resume" else ""
                    out = run(pythons[lib], "_measure", lib, str(data), str(w), load)
                    if out["labels"] != expected[lib][mode]:
                        raise AssertionError(
                            f"{lib} {mode} (workers={w}) trained {out['labels'][:4]}... first, "
                            f"not the uninterrupted epoch's {expected[lib][mode][:4]}..."
                        )
                    results[lib][str(w)][mode].append(out)
                    print(f"[{r + 1}/{args.repeat}] {lib} workers={w} {mode}: "
                          f"total {out['total_s']:.3f} s (fit {out['fit_s']:.3f} s)",
                          file=sys.stderr)  # fmt: skip

    load_end = os.getloadavg()
    body = table(results, args.samples, workers)
    note = (
        f"Composer 0.32.1 on CPU, {args.samples:,} samples of 2,048 B tokens + label (MDS, no "
        f"compression), batch {BATCH}, shuffled (py1e, seed {SEED}); resume at sample "
        f"{int(args.samples * RESUME_AT):,} of epoch 0; median of {args.repeat} fresh processes "
        f"per cell; {os.cpu_count()} CPUs, load average {load_start[0]:.2f} at the start and "
        f"{load_end[0]:.2f} at the end; {time.strftime('%Y-%m-%d %H:%M', time.localtime(began))}"
        f", {(time.time() - began) / 60:.1f} min. "
        f"`{' '.join(['.venv/bin/python', 'benchmarks/resume_bench.py', *sys.argv[1:]])}`"
    )
    print(note + "\n\n" + body)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "resume.md").write_text(report(note, body))
    (args.results / "resume.json").write_text(json.dumps({
        "note": note, "expected": expected, "runs": results,
        "load_average": {"start": load_start, "end": load_end},
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_prepare":
        prepare(*sys.argv[2:5])
    elif len(sys.argv) > 1 and sys.argv[1] == "_measure":
        measure(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] or None)
    else:
        main()
