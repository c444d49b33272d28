"""llm-foundry 0.22.0 runs unmodified on our `streaming`, batch for batch as on mosaicml-streaming.

Two venvs from scripts/llmfoundry_venv.sh hold the same llm-foundry, transformers, Composer and
torch; one has our `streaming`, the other mosaicml-streaming 0.13.0. tests/compat/llmfoundry/run.py
runs in each: llm-foundry's converters, then build_text_dataloader and
build_finetuning_dataloader (two weighted streams, shuffled, persistent workers) for two epochs,
a mid-epoch checkpoint state taken as Composer takes it, states loaded into the warm
dataloader, a resume in a new process, and composer.Trainer checkpointing mid-epoch and resuming
from it in a new process. Every batch's token ids and every state must equal the peer's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUN = REPO / "tests" / "compat" / "llmfoundry" / "run.py"

pytestmark = [pytest.mark.peer, pytest.mark.slow]


def llmfoundry_python(name: str) -> Path:
    """Build (once, cached under ~/.cache/streaming-dev) llm-foundry's venv over `name`."""
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "llmfoundry_venv.sh"), name],
        stdout=subprocess.PIPE,
        stderr=sys.stderr,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"Could not build the llm-foundry venv over {name} ({proc.returncode})")
    return Path(proc.stdout.strip().splitlines()[-1]) / "bin" / "python"


def run(python: Path, tmp: Path, *args: str) -> dict:
    """Run one command of run.py with `python`; return the JSON it wrote (its last argument)."""
    env = dict(os.environ)
    # The Hugging Face libraries' own switches: no hub, and their caches inside the test's tmp.
    env.update(HF_HOME=str(tmp / "hf"), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    proc = subprocess.run(
        [str(python), str(RUN), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd="/",  # never let the venv import the repo's ./streaming through the working directory
        env=env,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"llm-foundry under {python.parents[1].name} failed on `{args[0]}` "
            f"(exit {proc.returncode}):\n{proc.stderr[-6000:]}"
        )
    return json.loads(Path(args[-1]).read_text())


@pytest.fixture(scope="module")
def lf_tmp(tmp_path_factory) -> Path:
    """One directory for the module: tokenizer, converted data, caches, results."""
    return tmp_path_factory.mktemp("llmfoundry")


def both_phases(python: Path, tmp: Path, work: Path, data: str) -> dict:
    """run.py's `first` (converting into WORK, loading DATA) then `resume` in a new process."""
    tok, cache, state = str(tmp / "tok"), str(work / "cache"), str(work / "first.json")
    first = run(python, tmp, "first", str(work), data, tok, cache, state)
    resume = run(
        python, tmp, "resume", str(work), data, tok, cache, state, str(work / "resume.json")
    )
    return {"first": first, "resume": resume, "data": data}


@pytest.fixture(scope="module")
def peer(lf_tmp: Path) -> dict:
    """Both phases under mosaicml-streaming 0.13.0 (its own conversion is the data): the
    reference."""
    work = lf_tmp / "peer"
    return both_phases(llmfoundry_python("mosaic"), lf_tmp, work, str(work / "mds"))


@pytest.fixture(scope="module")
def ours(lf_tmp: Path, peer: dict) -> dict:
    """Both phases under our `streaming`, reading the same MDS as the peer."""
    return both_phases(llmfoundry_python("ours"), lf_tmp, lf_tmp / "ours", peer["data"])


def assert_same_batches(what: str, got: list, want: list) -> None:
    """Equal batch lists, or an error naming the first batch that differs and both versions."""
    for i, (g, w) in enumerate(zip(got, want, strict=False)):
        assert g == w, f"{what}: batch {i} differs\n ours: {g}\n peer: {w}"
    assert len(got) == len(want), f"{what}: {len(got)} batches, the peer gives {len(want)}"


def test_the_peer_run_is_the_reference_we_expect(peer: dict) -> None:
    """The reference itself: sizes, the checkpoint state and the resumed epoch's length."""
    for kind, epoch_size, batches in (("text", 300, 75), ("finetuning", 200, 50)):
        first, resume = peer["first"][kind], peer["resume"][kind]
        assert first["len"] == epoch_size
        assert len(first["epoch0"]) == batches
        state = {"epoch": 1, "sample_in_epoch": 28, "num_canonical_nodes": 2,
                 "shuffle_seed": 1234, "initial_physical_nodes": 1}  # fmt: skip
        assert first["state"] == state
        assert len(resume["resume"]) == batches - 7
        # The stale state starts the next epoch whole; the state ahead skips 5 batches.
        assert len(first["warm_stale"]) == batches
        assert len(first["warm_ahead"]) == batches - 5
        assert first["warm_stale"][:3] == resume["after_resume"]
        assert first["state_end"]["epoch"] == 3
        assert resume["state_after"] == dict(state, epoch=2, sample_in_epoch=12)
        # Composer: two epochs as the plain loader plays them; its mid-epoch checkpoint holds
        # the same state, and the resumed Trainer trains exactly the rest of that epoch.
        trained = first["composer"]["trained"]
        assert len(trained) == 2 * batches
        assert trained[:batches] == first["epoch0"]
        assert first["composer"]["checkpoint_dataset_state"] == {"train": state, "eval": {}}
        assert resume["composer"]["trained"] == trained[batches + 7 :]
        assert resume["composer"]["trained"] == resume["resume"]


def test_llmfoundry_imports_on_ours() -> None:
    """`import llmfoundry` and its dataloader builders, exactly as its users write them."""
    python = llmfoundry_python("ours")
    code = (
        "import llmfoundry\n"
        "from llmfoundry.data import build_text_dataloader, build_finetuning_dataloader\n"
        "from llmfoundry.data import StreamingTextDataset, StreamingFinetuningDataset\n"
    )
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd="/")
    assert proc.returncode == 0, proc.stderr[-6000:]


def test_converters_write_the_same_files(ours: dict, peer: dict) -> None:
    """convert_dataset_json and convert_finetuning_dataset: byte-identical shards and indexes."""
    want = peer["first"]["converted"]
    assert sorted(want) == [
        "ft_a/train/index.json",
        "ft_a/train/shard.00000.mds",
        "ft_b/train/index.json",
        "ft_b/train/shard.00000.mds",
        "text_a/index.json",
        "text_a/shard.00000.mds.zstd",
        "text_b/index.json",
        "text_b/shard.00000.mds.zstd",
    ]
    assert ours["first"]["converted"] == want


@pytest.mark.parametrize("kind", ["text", "finetuning"])
def test_loader_batches_and_states_match_the_peer(ours: dict, peer: dict, kind: str) -> None:
    """Every batch (token ids, labels) and every state, in each phase, equals the peer's."""
    got, want = ours["first"][kind], peer["first"][kind]
    assert got["len"] == want["len"]
    for part in ("epoch0", "epoch1_head"):
        assert_same_batches(f"{kind} {part}", got[part], want[part])
    assert got["state"] == want["state"], f"{kind}: mid-epoch checkpoint state"
    for part in ("warm_stale", "warm_ahead"):
        what = f"{kind} {part} (state loaded into warm workers)"
        assert_same_batches(what, got[part], want[part])
    assert got["state_end"] == want["state_end"]
    got, want = ours["resume"][kind], peer["resume"][kind]
    for part in ("resume", "after_resume"):
        assert_same_batches(f"{kind} {part} (new process)", got[part], want[part])
    assert got["state_after"] == want["state_after"]


@pytest.mark.parametrize("kind", ["text", "finetuning"])
def test_composer_trainer_checkpoints_and_resumes_as_on_the_peer(
    ours: dict, peer: dict, kind: str
) -> None:
    """composer.Trainer on llm-foundry's DataSpec: the batches trained, the dataset state in its
    mid-epoch checkpoint, and the batches a new Trainer trains after load_path, as the peer's."""
    got, want = ours["first"][kind]["composer"], peer["first"][kind]["composer"]
    assert_same_batches(f"{kind} Trainer.fit", got["trained"], want["trained"])
    assert got["checkpoint_dataset_state"] == want["checkpoint_dataset_state"]
    got, want = ours["resume"][kind]["composer"], peer["resume"][kind]["composer"]
    assert_same_batches(f"{kind} Trainer.fit after load_path", got["trained"], want["trained"])


def test_other_llmfoundry_paths_match_the_peer(ours: dict, peer: dict) -> None:
    """A `text` column tokenized on the fly (remote/local, stream_config repeat 2), the packing
    collator, clean_stale_shared_memory and `streaming.base.StreamingDataset`, as the peer's."""
    got, want = ours["first"]["extras"], peer["first"]["extras"]
    assert want["plain_len"] == 2 * 90  # the 90 documents of text_b, repeated twice
    assert got["clean_stale_shared_memory"] == want["clean_stale_shared_memory"] == "None"
    assert got["plain_len"] == want["plain_len"]
    assert got["plain_item7"] == want["plain_item7"]
    assert_same_batches("text column, on the fly", got["plain_batches"], want["plain_batches"])
    assert_same_batches(
        "finetuning, packing_ratio 2", got["packed_batches"], want["packed_batches"]
    )
    assert got["base_dataset"] == want["base_dataset"]
