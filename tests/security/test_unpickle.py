"""`streaming convert cifar10` reads pickle batches without running code (issue 14, item 8)."""

from __future__ import annotations

import os
import pickle
import subprocess
from pathlib import Path

import numpy as np
import pytest

from streaming.cli.main import main
from streaming.datasets.convert.cifar10 import load_batch
from streaming.datasets.convert.safe_pickle import RefusedGlobalError, loads_plain
from tests.datasets import _raw


class _Call:
    """Pickles as a call of `func(*args)`: what a crafted pickle does."""

    def __init__(self, func, *args) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _batch(rows: int = 2) -> dict:
    rng = np.random.default_rng(1)
    return {
        b"batch_label": b"testing batch 1 of 1",
        b"labels": [3, 7][:rows],
        b"data": rng.integers(0, 256, (rows, 3072), dtype=np.uint8),
        b"filenames": [b"a.png", b"b.png"][:rows],
    }


@pytest.mark.parametrize("protocol", [0, 2, 3, 4, 5])
def test_real_format_batches_load_at_every_protocol(protocol: int) -> None:
    batch = _batch()
    obj = loads_plain(pickle.dumps(batch, protocol=protocol))
    assert obj.keys() == batch.keys() and obj[b"labels"] == [3, 7]
    assert obj[b"data"].dtype == np.uint8 and np.array_equal(obj[b"data"], batch[b"data"])
    assert obj[b"filenames"] == [b"a.png", b"b.png"]


def test_numpy_1_module_names_of_the_official_batches_load() -> None:
    # The official files were written by NumPy 1 (numpy.core.multiarray), at protocol 2.
    data = pickle.dumps(_batch(), protocol=2)
    assert b"cnumpy._core.multiarray\n_reconstruct\n" in data
    data = data.replace(b"cnumpy._core.", b"cnumpy.core.")
    assert np.array_equal(loads_plain(data)[b"data"], _batch()[b"data"])


def test_the_tiny_cifar_replica_loads(tmp_path: Path) -> None:
    expected = _raw.cifar10(tmp_path, per_batch=2)
    images, labels = load_batch(str(tmp_path / "cifar-10-batches-py" / "test_batch"))
    assert labels == [label for _, label in expected["val"]]
    assert np.array_equal(images, np.stack([image for image, _ in expected["val"]]))


@pytest.mark.parametrize(
    ("payload", "refused"),
    [
        (_Call(os.system, "touch {marker}"), "posix.system"),
        (_Call(subprocess.check_call, ["touch", "{marker}"]), "subprocess.check_call"),
        (_Call(eval, "open({marker!r}, 'w')"), "builtins.eval"),
        (_Call(np.save, "{marker}", np.zeros(1)), "numpy.save"),
        (_Call(np.loadtxt, "{marker}"), "numpy.loadtxt"),
        (np.ma.masked_array([1, 2], mask=[0, 1]), "numpy.ma.core._mareconstruct"),
    ],
)
def test_crafted_pickles_are_refused_and_run_nothing(tmp_path: Path, payload, refused) -> None:
    marker = str(tmp_path / "ran")
    if isinstance(payload, _Call):
        payload.args = tuple(
            a.format(marker=marker) if isinstance(a, str) else
            [x.format(marker=marker) for x in a] if isinstance(a, list) else a
            for a in payload.args
        )  # fmt: skip
    data = pickle.dumps({b"data": payload, b"labels": []}, protocol=4)
    with pytest.raises(RefusedGlobalError) as info:
        loads_plain(data)
    assert info.value.name == refused
    assert str(info.value) == (
        f"it names the global {refused!r}, which plain data never needs: refused, so that no "
        "code in the file runs (only dicts, lists, strings, bytes, numbers and NumPy arrays "
        "are read)"
    )
    assert not os.path.exists(marker)


def test_codecs_encode_is_latin1_text_only() -> None:
    crafted = b"c_codecs\nencode\n(Vabc\nVrot13\ntR."
    with pytest.raises(RefusedGlobalError) as info:
        loads_plain(crafted)
    assert info.value.name == "_codecs.encode(str, 'rot13')"
    assert loads_plain(b"c_codecs\nencode\n(Vabc\nVlatin1\ntR.") == b"abc"


def test_object_arrays_are_refused() -> None:
    with pytest.raises(pickle.UnpicklingError, match="array of Python objects"):
        loads_plain(pickle.dumps({b"data": np.array([1, "x"], dtype=object)}))


def test_convert_refuses_a_crafted_test_batch(tmp_path: Path, capsys) -> None:
    _raw.cifar10(tmp_path / "raw", per_batch=1)
    marker = tmp_path / "pwned"
    batch = tmp_path / "raw" / "cifar-10-batches-py" / "test_batch"
    batch.write_bytes(pickle.dumps({b"data": _Call(os.system, f"touch {marker}")}))
    argv = ["convert", "cifar10", "--in", str(tmp_path / "raw"), "--out", str(tmp_path / "o"),
            "--workers", "1", "--no-progress"]  # fmt: skip
    assert main(argv) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"streaming convert: error: {str(batch)!r} is not a CIFAR-10 batch and was not "
        "unpickled: it names the global 'posix.system', which plain data never needs: refused, "
        "so that no code in the file runs (only dicts, lists, strings, bytes, numbers and NumPy "
        "arrays are read)",
        "hint: `streaming convert DATASET --help` describes the raw layout",
    ]
    assert not marker.exists()


@pytest.mark.slow  # importing Lightning and Composer takes seconds
@pytest.mark.parametrize(
    "demo", ["streaming.integrations._demo_lightning", "streaming.integrations._demo_composer"]
)
def test_demo_checkpoints_load_with_weights_only(demo: str, tmp_path: Path) -> None:
    """Issue 14, item 16: the demos read their checkpoints with ``weights_only=True``."""
    import datetime
    import importlib

    import torch

    load = importlib.import_module(demo)._load_checkpoint
    marker = tmp_path / "pwned"
    torch.save({"state": _Call(os.system, f"touch {marker}")}, tmp_path / "evil.pt")
    with pytest.raises(pickle.UnpicklingError, match="unsupported GLOBAL posix.system"):
        load(str(tmp_path / "evil.pt"))
    assert not marker.exists()
    state = {"w": torch.ones(2), "epoch": 1, "names": ["a"]}
    if demo.endswith("composer"):  # what Composer adds: run time, RNG state, torch version
        state |= {"time": datetime.timedelta(seconds=3), "rng": np.arange(4, dtype=np.uint32),
                  "torch": torch.__version__}  # fmt: skip
    torch.save(state, tmp_path / "ok.pt")
    loaded = load(str(tmp_path / "ok.pt"))
    assert loaded.keys() == state.keys() and torch.equal(loaded["w"], state["w"])
