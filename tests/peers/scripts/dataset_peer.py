"""Runs inside the mosaicml-streaming 0.13.0 venv: the peer's StreamingDataset (and
StreamingDataLoader) over local datasets, recording the sample ``id`` column in yield order.

    python dataset_peer.py CASES_JSON OUT_JSON

Each case is a dict:

* ``streams``: list of Stream kwargs (``local``, ``proportion``/``repeat``/``choose``), or None;
* ``kwargs``: StreamingDataset kwargs (``local`` etc. when ``streams`` is None);
* ``num_workers``: None to iterate the dataset itself, else a StreamingDataLoader with
  ``batch_size=kwargs['batch_size']`` and that many workers;
* ``epochs``: how many epochs (``__iter__`` calls) to record;
* ``load_state``: a state dict to load before the first epoch, or None;
* ``stop_after``: in loader mode, the batch count after which the loader's ``state_dict`` is
  recorded in the first epoch (the epoch still runs to its end), or None.

A case with ``world_size`` runs that many ranks of one node at once (a gloo process group, as
the peer creates itself) and gives ``{"ranks": [result per rank]}``.

OUT_JSON holds, per case, ``{"epochs": [[ids...]...], "states": [...], "mid_state": ...}``
(``states``: ``state_dict(0, False)`` (plain) or the loader's ``state_dict()`` after each epoch)
or ``{"error": "Type: message"}``.

Each case runs in its own forked process (a peer StreamingDataset owns shared memory for its
process's life) with a private TMPDIR for the peer's lock files. The peer's
``clean_stale_shared_memory`` is never called: it is host-wide.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import tempfile
import traceback

import streaming  # noqa: F401  (import torch and the peer once, before forking)
from streaming import Stream, StreamingDataLoader, StreamingDataset


def _ids(batch) -> list[int]:
    return [int(i) for i in batch["id"]]


def run_case(case: dict) -> dict:
    kwargs = dict(case["kwargs"])
    if case.get("streams"):
        kwargs["streams"] = [Stream(**s) for s in case["streams"]]
    ds = StreamingDataset(**kwargs)
    if case.get("load_state") is not None:
        ds.load_state_dict(case["load_state"])
    out: dict = {"epochs": [], "states": [], "mid_state": None, "len": len(ds)}
    if case.get("num_workers") is None:
        for _ in range(case["epochs"]):
            out["epochs"].append([int(s["id"]) for s in ds])
            out["states"].append(ds.state_dict(0, False))
        return out
    loader = StreamingDataLoader(
        ds,
        batch_size=kwargs["batch_size"],
        num_workers=case["num_workers"],
        persistent_workers=bool(case.get("persistent")) and case["num_workers"] > 0,
    )
    for epoch in range(case["epochs"]):
        ids: list[int] = []
        for n, batch in enumerate(loader, 1):
            ids += _ids(batch)
            if epoch == 0 and n == case.get("stop_after"):
                out["mid_state"] = loader.state_dict()
        out["epochs"].append(ids)
        out["states"].append(loader.state_dict())
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fork(case: dict, private: str, env: dict) -> tuple[int, str]:
    """Start one child running `case` with `env`; (pid, result path)."""
    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.environ["TMPDIR"] = private
            tempfile.tempdir = private
            for key, value in env.items():
                os.environ[key] = str(value)
            try:
                result = run_case(case)
            except Exception as e:  # reported to the test, which compares error types
                result = {
                    "error": f"{type(e).__name__}: {e}",
                    "trace": traceback.format_exc()[-2000:],
                }
            with open(path, "w") as f:
                json.dump(result, f)
        except BaseException:
            code = 1
        finally:
            sys.stdout.flush()
            os._exit(code)
    return pid, path


def _collect(pid: int, path: str) -> dict:
    _, status = os.waitpid(pid, 0)
    with open(path) as f:
        text = f.read()
    os.remove(path)
    if status != 0 or not text:
        return {"error": f"peer case process failed (status {status})"}
    return json.loads(text)


def main() -> None:
    cases = json.load(open(sys.argv[1]))
    results = []
    for case in cases:
        private = tempfile.mkdtemp(prefix="peer_tmp_")
        try:
            results.append(_run(case, private))
        finally:
            shutil.rmtree(private, ignore_errors=True)  # the peer's lock files
    with open(sys.argv[2], "w") as f:
        json.dump(results, f)


def _run(case: dict, private: str) -> dict:
    world_size = case.get("world_size")
    if not world_size:
        return _collect(*_fork(case, private, case.get("env") or {}))
    # One node of `world_size` ranks at once: the peer joins a gloo process group and
    # shares its shared memory and lock files (the same TMPDIR) between them.
    port = _free_port()
    children = [
        _fork(
            case,
            private,
            {
                "RANK": rank,
                "LOCAL_RANK": rank,
                "WORLD_SIZE": world_size,
                "LOCAL_WORLD_SIZE": world_size,
                "MASTER_ADDR": "127.0.0.1",
                "MASTER_PORT": port,
            },
        )
        for rank in range(world_size)
    ]
    return {"ranks": [_collect(*child) for child in children]}


if __name__ == "__main__":
    main()
