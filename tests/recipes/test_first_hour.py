"""What a new user meets in the first hour: hash validation on by default where the index
records xxh64, a corrupt sample named by shard and sample, a wrong split listing those that
exist, and a GPU recipe on a machine without a GPU naming the CPU fragment."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from streaming.cli.main import main
from streaming.config import RecipeError
from streaming.format.errors import HashMismatchError
from streaming.integrations.recipes import run_recipe
from streaming.integrations.recipes.build import plan_run
from streaming.integrations.recipes.data import CorruptSampleError
from tests.recipes._support import REPO, tiny_overrides, tiny_recipe

QUICK = ["eval_loader=null", "save_folder=null", "autoresume=false"]


def corrupt_copy(tiny_data: Path, tmp_path: Path) -> Path:
    """CIFAR10's tiny replica with 200 bytes flipped in the middle of shard 1."""
    root = tmp_path / "data"
    shutil.copytree(tiny_data / "cifar10", root / "cifar10")
    path = root / "cifar10" / "train" / "part-00001" / "shard.00000.mds"
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 200] = bytes(b ^ 0xFF for b in data[middle : middle + 200])
    path.write_bytes(bytes(data))
    return root


def test_validate_hash_is_xxh64_where_the_index_records_it(tiny_data: Path, tmp_path: Path) -> None:
    plan = plan_run(tiny_recipe("cifar10", "lightning", tiny_data, QUICK), 1)
    assert plan.train.dataset_kwargs["validate_hash"] == "xxh64"
    root = tmp_path / "data"
    shutil.copytree(tiny_data / "cifar10", root / "cifar10")
    index = root / "cifar10" / "train" / "index.json"
    obj = json.loads(index.read_text())
    for shard in obj["shards"]:
        shard["raw_data"]["hashes"] = {}
    index.write_text(json.dumps(obj))
    plan = plan_run(tiny_recipe("cifar10", "lightning", root, QUICK), 1)
    assert "validate_hash" not in plan.train.dataset_kwargs
    off = tiny_recipe("cifar10", "lightning", tiny_data,
                      [*QUICK, "train_loader.dataset.validate_hash=null"])  # fmt: skip
    assert "validate_hash" not in plan_run(off, 1).train.dataset_kwargs


@pytest.mark.slow
def test_a_corrupt_shard_or_sample_is_named(tiny_data: Path, tmp_path: Path) -> None:
    root = corrupt_copy(tiny_data, tmp_path)
    shard = root / "cifar10" / "train" / "part-00001" / "shard.00000.mds"
    checked = tiny_recipe("cifar10", "lightning", root, [*QUICK, "max_duration=7ba"])
    with pytest.raises(HashMismatchError, match=rf"^Checksum failure: '{shard}' \(shard 1\) has"):
        run_recipe(checked, verbose=False)
    unchecked = tiny_recipe(
        "cifar10", "lightning", root,
        [*QUICK, "max_duration=7ba", "train_loader.dataset.validate_hash=null"],
    )  # fmt: skip
    with pytest.raises(CorruptSampleError) as raised:
        run_recipe(unchecked, verbose=False)
    assert str(raised.value) == (
        f"Sample 4 cannot be decoded (file '{shard}', shard 1, sample 1): OSError: unrecognized "
        "data stream contents when reading image file. The shard file is corrupt: check it with "
        "`streaming verify --samples`, or delete it so that it is fetched again"
    )


def test_a_wrong_split_lists_the_splits(
    tiny_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = str(REPO / "recipes" / "cifar10.yaml")
    override = "train_loader.dataset.split=trian"
    args = ["train", recipe, *tiny_overrides("cifar10", tiny_data, *QUICK, override)]
    assert main(args) == 2
    err = capsys.readouterr().err.splitlines()[0]
    assert err == (
        f"streaming train: error: override `{override}`: train_loader.dataset.split: no split "
        f"'trian' in '{tiny_data / 'cifar10'}'; it has 'train', 'val'"
    )


@pytest.mark.parametrize("kind", ["lightning", "composer"])
def test_a_gpu_recipe_without_a_gpu_names_the_cpu_fragment(
    kind: str, tiny_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a machine without a GPU
    cfg = tiny_recipe("cifar10", kind, tiny_data, QUICK)
    cfg.trainer.accelerator = "gpu"
    with pytest.raises(RecipeError) as raised:
        run_recipe(cfg, verbose=False)
    assert str(raised.value) == (
        "trainer.accelerator: 'gpu', but this machine has no GPU that torch can use; train on "
        f"the CPU with --include configs/trainers/{kind}_cpu.yaml"
    )
