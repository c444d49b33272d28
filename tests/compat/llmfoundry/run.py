"""Drive llm-foundry 0.22.0, unmodified, inside one of the venvs of scripts/llmfoundry_venv.sh.

The test runs this file with each venv's python (the peer's first, then ours) and compares
the JSON it writes (the last argument). Both venvs read the same MDS (the peer's conversion).

  first WORK DATA TOK CACHE OUT
      builds a word-level tokenizer with `tokenizers` into TOK if it is not there (no hub),
      runs llm-foundry's converters (convert_dataset_json, convert_finetuning_dataset) into
      WORK/mds and hashes every file, then for build_text_dataloader and
      build_finetuning_dataloader over DATA (two weighted streams, shuffled, 2 persistent
      workers): two epochs with the dataset's state_dict taken mid-epoch as Composer takes it
      for a checkpoint, then states loaded into the same warm-worker dataloader; then
      composer.Trainer trains two epochs on the DataSpec, checkpointing mid-epoch into WORK;
      then the other paths of `extras`.
  resume WORK DATA TOK CACHE STATE OUT
      a fresh dataloader in a new process loads the checkpoint state from STATE (first's OUT)
      as Composer's trainer does on load_path, and runs to the end of that epoch and on; then
      a new composer.Trainer resumes from first's checkpoint (load_path) and finishes.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
from pathlib import Path

WORDS = (
    "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
    "oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu"
).split()
SPECIAL = ["[PAD]", "[UNK]", "<|endoftext|>"]
BATCH = 4  # device_batch_size of every dataloader here
TEXT_SEQ = 16  # concat_tokens of the text converter and max_seq_len of its loader
FT_SEQ = 32
TEXT_DOCS = {"a": 220, "b": 90}  # jsonl documents per stream: a few hundred samples in all
FT_ROWS = {"a": 150, "b": 60}
KINDS = ("text", "finetuning")
RESUME_AT = 7  # batches into the second epoch where the checkpoint is taken


def dump(path: str, obj: object) -> None:
    """Write `obj` as JSON to `path`."""
    Path(path).write_text(json.dumps(obj))


def make_tokenizer(out_dir: str) -> None:
    """A WordLevel tokenizer over WORDS, saved as a transformers fast tokenizer directory."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(SPECIAL + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", eos_token="<|endoftext|>"
    )
    fast.save_pretrained(out_dir)


def load_tokenizer(tok_dir: str):
    """The saved tokenizer, loaded by path as llm-foundry users do."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tok_dir)


def sentence(rng: random.Random, lo: int, hi: int) -> str:
    """A deterministic run of words."""
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def write_sources(work: Path) -> None:
    """The jsonl inputs of the converters, the same bytes in every venv."""
    rng = random.Random(20260)
    for name, docs in TEXT_DOCS.items():
        path = work / "json" / f"text_{name}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = [{"text": sentence(rng, 3, 40)} for _ in range(docs)]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    for name, count in FT_ROWS.items():
        path = work / "json" / f"ft_{name}.jsonl"
        rows = [
            {"prompt": sentence(rng, 2, 12), "response": sentence(rng, 1, 10)} for _ in range(count)
        ]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def convert(work: Path, tok_dir: str) -> dict:
    """llm-foundry's convert_dataset_json and convert_finetuning_dataset, to MDS under
    WORK/mds; returns the sha256 of every file they wrote."""
    from llmfoundry.command_utils import convert_dataset_json, convert_finetuning_dataset

    write_sources(work)
    for name in TEXT_DOCS:
        convert_dataset_json(
            path=str(work / "json" / f"text_{name}.jsonl"),
            out_root=str(work / "mds" / f"text_{name}"),
            compression="zstd",
            concat_tokens=TEXT_SEQ,
            split="train",
            tokenizer=tok_dir,
            eos_text="<|endoftext|>",
            num_workers=0,
        )
    for name in FT_ROWS:
        convert_finetuning_dataset(
            dataset="json",
            data_subset=None,
            splits=["train"],
            preprocessor=None,
            data_files=[str(work / "json" / f"ft_{name}.jsonl")],
            skip_preprocessing=True,
            out_root=str(work / "mds" / f"ft_{name}"),
            local=None,
            compression=None,
            num_workers=1,  # 0 trips its DataLoader's prefetch_factor on torch>=2; 1 keeps order
            tokenizer=tok_dir,
            tokenizer_kwargs={},
            max_seq_len=FT_SEQ,
            target_prompts="none",
            target_responses="last",
            encoder_decoder=False,
        )
    files = {}
    for path in sorted((work / "mds").rglob("*")):
        if path.is_file():
            files[str(path.relative_to(work / "mds"))] = hashlib.sha256(
                path.read_bytes()
            ).hexdigest()
    return files


def dataset_cfg(kind: str, data: Path, cache: Path) -> dict:
    """Two weighted streams over the converted MDS, shuffled, as a YAML config would give."""
    prefix = "text" if kind == "text" else "ft"
    sub = "" if kind == "text" else "train"
    streams = {
        name: {
            "remote": str(data / f"{prefix}_{name}" / sub),
            "local": str(cache / f"{prefix}_{name}"),
            "proportion": share,
        }
        for name, share in (("a", 0.65), ("b", 0.35))
    }
    cfg = {
        "streams": streams,
        "max_seq_len": TEXT_SEQ if kind == "text" else FT_SEQ,
        "shuffle": True,
        "shuffle_seed": 1234,
        "num_canonical_nodes": 2,
        "predownload": 8,
        "epoch_size": 300 if kind == "text" else 200,
    }
    if kind == "finetuning":
        cfg["decoder_only_format"] = True
    return cfg


def build(kind: str, tok, data: Path, cache: Path):
    """llm-foundry's own builder: its DataSpec (a DataLoader with 2 persistent workers)."""
    from llmfoundry.data import build_finetuning_dataloader, build_text_dataloader

    common = {
        "tokenizer": tok,
        "device_batch_size": BATCH,
        "dataset": dataset_cfg(kind, data, cache),
        "num_workers": 2,
        "drop_last": False,
        "pin_memory": False,
        "prefetch_factor": 2,
        "persistent_workers": True,
    }
    builder = build_text_dataloader if kind == "text" else build_finetuning_dataloader
    return builder(**common)


def rows(batch) -> list:
    """The exact token ids of a batch (and its labels where the loader makes them)."""
    out = {"input_ids": batch["input_ids"].tolist()}
    if "labels" in batch:
        out["labels"] = batch["labels"].tolist()
    return out


def epoch(loader, stop: int | None = None) -> list:
    """Batches of one pass over `loader` (the first `stop` of them if given)."""
    got = []
    for i, batch in enumerate(loader):
        if stop is not None and i == stop:
            break
        got.append(rows(batch))
    return got


def samples(batches: list) -> int:
    """Samples seen, as Composer's timestamp.sample_in_epoch counts them."""
    return sum(len(b["input_ids"]) for b in batches)


def first(kind: str, tok, data: Path, cache: Path) -> dict:
    """Two epochs and a mid-epoch checkpoint, then states loaded into the warm dataloader."""
    loader = build(kind, tok, data, cache / "first").dataloader
    dataset = loader.dataset
    result: dict = {"len": len(dataset), "epoch0": epoch(loader)}
    head = epoch(loader, stop=RESUME_AT)
    result["epoch1_head"] = head
    # What composer.core.State._dataset_state_dict saves in a mid-epoch checkpoint.
    saved = dataset.state_dict(samples(head), True)
    result["state"] = saved
    # Loading into a dataloader whose persistent workers are alive (they already hold the next
    # epoch): mosaicml-streaming takes a state of an earlier epoch as stale and starts the next
    # epoch; a state of the epoch to come resumes inside it.
    dataset.load_state_dict(json.loads(json.dumps(saved)))
    result["warm_stale"] = epoch(loader)
    dataset.load_state_dict(dict(saved, epoch=saved["epoch"] + 2, sample_in_epoch=5 * BATCH))
    result["warm_ahead"] = epoch(loader)
    result["state_end"] = dataset.state_dict(0, True)
    return result


def resume(kind: str, tok, data: Path, cache: Path, saved: dict) -> dict:
    """A fresh dataloader in a new process loads the checkpoint's state, as Composer's
    trainer with load_path does before iterating, and runs on into the next epoch."""
    loader = build(kind, tok, data, cache / "resume").dataloader
    dataset = loader.dataset
    dataset.load_state_dict(saved)
    result = {"resume": epoch(loader), "after_resume": epoch(loader, stop=3)}
    result["state_after"] = dataset.state_dict(3 * BATCH, True)
    return result


def composer_fit(kind: str, tok, data: Path, cache: Path, folder: Path, load: bool) -> dict:
    """composer.Trainer on llm-foundry's DataSpec for two epochs, checkpointing mid-epoch 1
    (batch RESUME_AT of it); with `load`, a new Trainer resumes from that checkpoint."""
    import torch
    from composer import Trainer
    from composer.core import Event
    from composer.models import ComposerModel

    class Recorder(ComposerModel):
        """A one-weight model that records the token ids of every batch it trains on."""

        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(1, 1)
            self.trained: list = []

        def forward(self, batch):
            if self.training:
                self.trained.append(rows(batch))
            return self.layer(batch["input_ids"][:, :1].float())

        def loss(self, outputs, batch):
            return outputs.pow(2).mean()

    spec = build(kind, tok, data, cache / ("composer_resume" if load else "composer"))
    per_epoch = len(spec.dataloader)
    checkpoint = folder / f"ba{per_epoch + RESUME_AT}.pt"

    def save_interval(state, event) -> bool:
        return event == Event.BATCH_CHECKPOINT and int(state.timestamp.batch) == (
            per_epoch + RESUME_AT
        )

    model = Recorder()
    trainer = Trainer(
        model=model,
        train_dataloader=spec,
        max_duration="2ep",
        optimizers=torch.optim.SGD(model.parameters(), lr=0.01),
        device="cpu",
        save_folder=None if load else str(folder),
        save_interval=save_interval,
        save_filename="ba{batch}.pt",
        save_overwrite=True,
        load_path=str(checkpoint) if load else None,
        progress_bar=False,
        log_to_console=False,
        loggers=[],
    )
    trainer.fit()
    trainer.close()
    saved = torch.load(checkpoint, weights_only=False)["state"]["dataset_state"]
    return {"trained": model.trained, "checkpoint_dataset_state": saved}


def extras(tok, data: Path, work: Path, cache: Path) -> dict:
    """Other paths llm-foundry users take: a `text` column (NO_CONCAT conversion) tokenized on
    the fly from remote/local with stream_config, finetuning with a packing collator,
    clean_stale_shared_memory, and its docs' `from streaming.base import StreamingDataset`."""
    import numpy as np
    from llmfoundry.command_utils import convert_dataset_json
    from llmfoundry.data import build_finetuning_dataloader, build_text_dataloader

    from streaming.base import StreamingDataset
    from streaming.base.util import clean_stale_shared_memory

    out: dict = {"clean_stale_shared_memory": repr(clean_stale_shared_memory())}
    plain = work / "mds_plain" / "text_b"
    convert_dataset_json(
        path=str(work / "json" / "text_b.jsonl"),
        out_root=str(plain),
        compression=None,
        concat_tokens=None,
        split="train",
        num_workers=0,
    )
    cfg = {
        "remote": str(plain),
        "local": str(cache / "plain"),
        "max_seq_len": 12,
        "shuffle": True,
        "shuffle_seed": 3,
        "stream_config": {"repeat": 2},
    }
    loader = build_text_dataloader(
        tok, BATCH, cfg, drop_last=False, num_workers=0, pin_memory=False,
        prefetch_factor=None, persistent_workers=False,
    ).dataloader  # fmt: skip
    out["plain_len"] = len(loader.dataset)
    out["plain_item7"] = loader.dataset[7]["input_ids"]
    out["plain_batches"] = epoch(loader)
    cfg = dict(dataset_cfg("finetuning", data, cache / "packed"), packing_ratio=2.0)
    loader = build_finetuning_dataloader(
        tok, BATCH, cfg, num_workers=0, pin_memory=False, prefetch_factor=None,
        persistent_workers=False,
    ).dataloader  # fmt: skip
    out["packed_batches"] = epoch(loader, stop=20)
    dataset = StreamingDataset(local=str(data / "text_a"), batch_size=2)
    out["base_dataset"] = [len(dataset), dataset.size, np.asarray(dataset[0]["tokens"]).tolist()]
    return out


def cmd_first(work: str, data: str, tok_dir: str, cache: str, out: str) -> None:
    """Tokenizer (if TOK is not there yet), converters into WORK, then phase one of both
    loaders over DATA (the converted MDS both venvs read)."""
    if not Path(tok_dir, "tokenizer.json").exists():
        make_tokenizer(tok_dir)
    result = {"converted": convert(Path(work), tok_dir)}
    tok = load_tokenizer(tok_dir)
    for kind in KINDS:
        result[kind] = first(kind, tok, Path(data), Path(cache) / kind)
        folder = Path(work) / "checkpoints" / kind
        result[kind]["composer"] = composer_fit(
            kind, tok, Path(data), Path(cache) / kind, folder, load=False
        )
    result["extras"] = extras(tok, Path(data), Path(work), Path(cache) / "extras")
    dump(out, result)


def cmd_resume(work: str, data: str, tok_dir: str, cache: str, state: str, out: str) -> None:
    """Phase two of both loaders, from the states that phase one (of the same venv) saved in
    STATE and, through Composer, in WORK's checkpoints."""
    saved = json.loads(Path(state).read_text())
    tok = load_tokenizer(tok_dir)
    result = {}
    for kind in KINDS:
        result[kind] = resume(kind, tok, Path(data), Path(cache) / kind, saved[kind]["state"])
        folder = Path(work) / "checkpoints" / kind
        result[kind]["composer"] = composer_fit(
            kind, tok, Path(data), Path(cache) / kind, folder, load=True
        )
    dump(out, result)


def main(argv: list[str]) -> None:
    """Dispatch one command; see the module's docstring."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    cmd, *args = argv
    {"first": cmd_first, "resume": cmd_resume}[cmd](*args)


if __name__ == "__main__":
    main(sys.argv[1:])
