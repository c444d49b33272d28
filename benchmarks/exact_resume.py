"""Resumed against uninterrupted training, per recipe and trainer: the README's table.

    .venv/bin/python benchmarks/exact_resume.py [--steps 6] [--stop 3] [--workers 2] \
        [--out benchmarks/results/exact_resume.md] [--recipes cifar10,c4]

For every recipe in recipes/*.yaml on its tiny replica (the tests' converted raw data, 2 samples
a step, CPU, ``torch.use_deterministic_algorithms(True)``), on Lightning and on Composer: an
uninterrupted run of `steps` steps, and a run stopped after `stop` steps (checkpoint there) then
relaunched from its checkpoint to `steps`. Compared: the loss of every step after the resume
(the CSV logger's values, exact) and the final weights (the last checkpoint's, to the bit).
cifar10 also runs with ``decode=device``. Writes a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def build_data(root: Path) -> Path:
    """Each recipe's tiny replica, converted as the recipe tests do."""
    from tests.datasets._support import run
    from tests.recipes.conftest import REPLICAS

    data, raw = root / "data", root / "raw"
    for name, (build, options) in REPLICAS.items():
        build(raw / name)
        run(name, raw / name, data / name, options)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--stop", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="train_loader.num_workers")
    parser.add_argument("--recipes", help="comma-separated (default: all)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "exact_resume.md"))
    args = parser.parse_args()

    import torch

    from tests.recipes._support import RECIPES
    from tests.recipes.test_exact_resume import same_bits, uninterrupted_and_resumed

    torch.use_deterministic_algorithms(True)
    recipes = args.recipes.split(",") if args.recipes else RECIPES
    cases = [(r, "") for r in recipes] + ([("cifar10", "device")] if "cifar10" in recipes else [])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = build_data(Path(tmp))
        for recipe, decode in cases:
            for kind in ("lightning", "composer"):
                work = Path(tmp) / f"{recipe}-{decode}-{kind}"
                extra = [f"train_loader.num_workers={args.workers}"]
                if decode:
                    extra.append(f"train_loader.dataset.decode={decode}")
                start = time.perf_counter()
                result = uninterrupted_and_resumed(
                    recipe, kind, data, work, args.stop, args.steps, *extra
                )
                full, resumed = result["full"]["losses"], result["resumed"]["losses"]
                after = range(args.stop + 1, args.steps + 1)
                equal = sum(full.get(s) == resumed.get(s) for s in after)
                bits = same_bits(result["resumed"]["weights"], result["full"]["weights"])
                ids = (result["resumed"]["runs"][0].sample_ids or []) + (
                    result["resumed"]["runs"][1].sample_ids or []
                ) == result["full"]["runs"][0].sample_ids
                exact = equal == len(after) and bits and ids
                name = f"{recipe} (decode={decode})" if decode else recipe
                rows.append(
                    f"| {name} | {kind} | {full[args.steps]!r} | {resumed[args.steps]!r} | "
                    f"{equal} of {len(after)} | {'yes' if bits else 'NO'} | "
                    f"{'yes' if ids else 'NO'} | {'exact' if exact else 'DIFFERS'} |"
                )
                print(rows[-1], f"({time.perf_counter() - start:.0f} s)", flush=True)
    header = [
        f"Resumed after step {args.stop} of {args.steps}, against an uninterrupted run (tiny "
        f"replicas, 2 samples a step, {args.workers} DataLoader workers, CPU, deterministic "
        "algorithms). Produced by `.venv/bin/python benchmarks/exact_resume.py`.",
        "",
        f"| recipe | trainer | loss at step {args.steps}, uninterrupted | resumed | "
        f"losses equal, steps {args.stop + 1}-{args.steps} | final weights bit-identical | "
        "sample ids equal | |",
        "|---|---|---|---|---|---|---|---|",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(header + rows) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
