"""A state loaded after persistent DataLoader workers started reaches them at their next epoch,
as mosaicml-streaming's do (llm-foundry's plain ``DataLoader(persistent_workers=True)``).

The same script runs in our venv and in the peer's; both must print the same samples.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dataset._support import write_ids

pytestmark = pytest.mark.peer

SCRIPT = r"""
import json, sys
from torch.utils.data import DataLoader
from streaming import StreamingDataset

data, tmp = sys.argv[1], sys.argv[2]

def loader(cache):
    ds = StreamingDataset(remote=data, local=f"{tmp}/{cache}", batch_size=4, shuffle=True,
                          num_canonical_nodes=1, shuffle_seed=11)
    return ds, DataLoader(ds, batch_size=4, num_workers=2, persistent_workers=True)

def ids(batch):
    return [int(i) for i in batch["id"]]

out = {}
ds, dl = loader("c1")
out["epoch0"] = [i for b in dl for i in ids(b)]
epoch1 = []
for n, b in enumerate(dl, 1):
    epoch1 += ids(b)
    if n == 5:
        out["state"] = ds.state_dict(5 * 4, True)
out["epoch1"] = epoch1
del ds, dl

ds, dl = loader("c2")
it = iter(dl)
out["started"] = ids(next(it))  # the workers are running epoch 0
ds.load_state_dict(out["state"])
out["resumed"] = [i for b in dl for i in ids(b)]
out["next"] = [i for b in dl for i in ids(b)]
print(json.dumps(out))
"""


def _run(python: str, data: str, tmp: Path) -> dict:
    tmp.mkdir()
    proc = subprocess.run(
        [python, "-c", SCRIPT, data, str(tmp)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd="/",  # the peer must never import our ./streaming
        env={**os.environ, "TMPDIR": str(tmp)},  # the peer's lock files stay private
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_state_loaded_after_persistent_workers_started(mosaic_python: Path, tmp_path: Path) -> None:
    data = write_ids(tmp_path / "data", range(90))
    ours = _run(sys.executable, data, tmp_path / "ours")
    peer = _run(str(mosaic_python), data, tmp_path / "peer")
    assert ours == peer
    assert ours["state"]["epoch"] == 1 and ours["state"]["sample_in_epoch"] == 20
    # The workers resumed epoch 1 after its 20th sample, then played epoch 2.
    assert ours["resumed"] == ours["epoch1"][20:]
    assert sorted(ours["next"]) == list(range(90)) and ours["next"] != ours["epoch1"]
