"""A process of the shared-order tests (run as a script, one per simulated rank or worker).

    python _shared_order_child.py DIR NAME SIZE [--delay S] [--hang-at K] [--epoch E]

Shares a `SlowWork` of SIZE node-list positions through ``DIR/NAME.order``, reads every worker's
IDs and prints one JSON line: whether this process computed the order, and a digest of what
every worker read. `SlowWork` writes the order piece by piece, publishing each piece after
`--delay` seconds; with `--hang-at`, it stops for good once that many positions are published
(the test then kills it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from streaming.cache.shared_order import share_work  # noqa: E402

SHAPE_RWB = (2, 3, 4)  # ranks, workers, batch size


def expected(size: int) -> np.ndarray:
    """The order SlowWork computes: a fixed permutation of ``range(size)`` in node-list order,
    dealt like the orig partition, ``-1`` padded."""
    ranks, workers, batch = SHAPE_RWB
    per_round = ranks * workers * batch
    batches = -(-size // per_round)
    out = np.full((ranks, workers, batches, batch), -1, np.int32)
    positions = np.arange(size)
    values = np.random.default_rng(7).permutation(size).astype(np.int32)
    rank, q = positions % ranks, positions // ranks
    out[rank, (q // batch) % workers, q // (workers * batch), q % batch] = values
    return out


@dataclass(frozen=True)
class SlowWork:
    size: int
    delay: float
    hang_at: int | None

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return expected(self.size).shape  # type: ignore[return-value]

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.int32)

    def fill(self, out: np.ndarray, publish) -> None:  # type: ignore[no-untyped-def]
        final = expected(self.size)
        ranks, workers, batch = SHAPE_RWB
        step = max(1, self.size // 8)
        out[...] = -7  # garbage until published: a reader that runs ahead reads it
        for begin in range(0, self.size, step):
            p = np.arange(begin, min(begin + step, self.size))
            rank, q = p % ranks, p // ranks
            where = (rank, (q // batch) % workers, q // (workers * batch), q % batch)
            out[where] = final[where]
            time.sleep(self.delay)
            publish(p[-1] + 1)
            if self.hang_at is not None and p[-1] + 1 >= self.hang_at:
                time.sleep(3600)
        padding = final == -1
        out[padding] = -1


def digest(order, ranks: int, workers: int) -> str:  # type: ignore[no-untyped-def]
    h = hashlib.sha256()
    for rank in range(ranks):
        for worker in range(workers):
            for ids in order.worker_ids(rank, worker, chunk=5):
                h.update(np.asarray(ids, np.int64).tobytes())
            h.update(b"|")
    return h.hexdigest()


def expected_digest(size: int) -> str:
    class Done:
        array = expected(size)

        def worker_ids(self, rank: int, worker: int, chunk: int = 0):  # type: ignore[no-untyped-def]
            ids = self.array[rank, worker].ravel()
            yield ids[ids != -1]

    return digest(Done(), *SHAPE_RWB[:2])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("name")
    parser.add_argument("size", type=int)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--hang-at", type=int)
    parser.add_argument("--epoch", type=int, default=0)
    args = parser.parse_args()
    work = SlowWork(args.size, args.delay, args.hang_at)
    order = share_work(args.directory, "job", args.name, work, args.epoch)
    produced = order._thread is not None
    result = digest(order, *SHAPE_RWB[:2])
    produced = produced or order._thread is not None  # took over from a dead producer
    print(json.dumps({"produced": produced, "digest": result}), flush=True)


if __name__ == "__main__":
    main()
