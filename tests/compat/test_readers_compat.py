"""The readers at mosaicml-streaming's paths (streaming.text, streaming.vision,
streaming.multimodal) take its constructor arguments and return its samples.

Each tiny dataset is read by our class and by the peer's, in the peer's venv, with the same
arguments; every sample by index and one shuffled epoch must be equal, down to the image pixels
and array bytes.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import pytest

from tests.compat._samples import DUMP, write_all
from tests.peers.runner import run_peer

# (module, class, dataset) read by both libraries; the keyword arguments are built per side.
CASES = [
    ("streaming.vision", "StreamingCIFAR10", "cifar10"),
    ("streaming.vision", "StreamingImageNet", "imagenet"),
    ("streaming.vision", "StreamingADE20K", "ade20k"),
    ("streaming.vision", "StreamingCOCO", "coco"),
    ("streaming.text", "StreamingEnWiki", "enwiki"),
    ("streaming.multimodal", "StreamingInsideWebVid", "webvid_inside"),
    ("streaming.multimodal", "StreamingOutsideGIWebVid", "webvid_outside"),
    ("streaming.multimodal", "StreamingOutsideDTWebVid", "webvid_outside"),
]

# The peer's readers per module (its __all__, or its imports where it has none).
PEER_NAMES = {
    "streaming.text": ["StreamingC4", "StreamingEnWiki", "StreamingPile"],
    "streaming.vision": ["StreamingADE20K", "StreamingCIFAR10", "StreamingCOCO",
                         "StreamingImageNet"],
    "streaming.multimodal": ["StreamingInsideWebVid", "StreamingOutsideDTWebVid",
                             "StreamingOutsideGIWebVid"],
}  # fmt: skip

PEER_SCRIPT = (
    DUMP
    + r"""
import importlib, inspect, sys
cases = json.loads(sys.argv[1])
out = {}
for key, (module, name, kwargs) in cases.items():
    cls = getattr(importlib.import_module(module), name)
    out[key] = dump_dataset(cls(**kwargs))
sig = {}
for module, names in json.loads(sys.argv[2]).items():
    for name in names:
        cls = getattr(importlib.import_module(module), name)
        sig[f"{module}.{name}"] = [
            [p.name, str(p.kind), repr(p.default)]
            for p in inspect.signature(cls).parameters.values()
        ]
print(json.dumps({"samples": out, "signatures": sig}))
"""
)


def _kwargs(root: Path, dataset: str, extra_local: Path) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"local": str(root / dataset), "shuffle": True, "batch_size": 2}
    if dataset == "webvid_outside":
        kwargs |= {"extra_local": str(extra_local), "extra_remote": str(root / "videos")}
    return kwargs


def _cases(root: Path) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        f"{module}.{name}": (module, name, _kwargs(root, ds, root / f"extra-{name}"))
        for module, name, ds in CASES
    }


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, mosaic_python: Path) -> dict[str, Any]:
    """Each case read by our classes and by the peer's, from separate copies of the data."""
    root = tmp_path_factory.mktemp("compat-readers")
    write_all(root / "data")
    shutil.copytree(root / "data", root / "peer")
    shutil.copytree(root / "data", root / "ours")
    peer = json.loads(
        run_peer(
            mosaic_python,
            PEER_SCRIPT,
            json.dumps(_cases(root / "peer")),
            json.dumps(PEER_NAMES),
        )
    )
    scope: dict[str, Any] = {}
    exec(DUMP, scope)
    ours = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for key, (module, name, kwargs) in _cases(root / "ours").items():
            cls = getattr(importlib.import_module(module), name)
            ours[key] = scope["dump_dataset"](cls(**kwargs))
    return {"peer": peer, "ours": ours, "root": root}


@pytest.mark.slow  # the peer reads every dataset once per session (~10-30 s)
@pytest.mark.parametrize("module,name,dataset", CASES, ids=[c[1] for c in CASES])
def test_samples_equal_the_peers(both: dict, module: str, name: str, dataset: str) -> None:
    key = f"{module}.{name}"
    ours, peer = both["ours"][key], both["peer"]["samples"][key]
    assert ours["len"] == peer["len"] > 5
    for i, (a, b) in enumerate(zip(ours["by_index"], peer["by_index"], strict=True)):
        assert a == b, f"{key}: sample {i} differs"
    assert ours["epoch"] == peer["epoch"]
    assert ours["epoch"] != ours["by_index"]  # shuffled, by the peer's default algorithms


@pytest.mark.slow  # the peer reads every dataset once per session (~10-30 s)
def test_outside_videos_are_fetched_into_extra_local(both: dict) -> None:
    root = both["root"] / "ours"
    for name in ("StreamingOutsideGIWebVid", "StreamingOutsideDTWebVid"):
        fetched = sorted(p.relative_to(root / f"extra-{name}").as_posix()
                         for p in (root / f"extra-{name}").rglob("*.mp4"))  # fmt: skip
        stored = sorted(p.relative_to(root / "videos").as_posix()
                        for p in (root / "videos").rglob("*.mp4"))  # fmt: skip
        assert fetched == stored and len(stored) == 7


@pytest.mark.slow  # the peer reads every dataset once per session (~10-30 s)
@pytest.mark.parametrize("module", sorted(PEER_NAMES))
def test_exports_and_signatures_are_the_peers(both: dict, module: str) -> None:
    mod = importlib.import_module(module)
    for name in PEER_NAMES[module]:
        assert name in mod.__all__
        ours = [
            [p.name, str(p.kind), repr(p.default)]
            for p in inspect.signature(getattr(mod, name)).parameters.values()
        ]
        # A class that passes StreamingDataset's signature through also takes the trainer's
        # `world=` (keyword-only, last, default None): an addition after the peer's arguments.
        if ours and ours[-1] == ["world", "KEYWORD_ONLY", "None"]:
            ours = ours[:-1]
        assert ours == both["peer"]["signatures"][f"{module}.{name}"], name


def test_vision_keeps_the_device_pipeline() -> None:
    from streaming.vision import IMAGENET_MEAN, ImageBatchPipeline, decode_images

    assert ImageBatchPipeline.__module__ == "streaming.vision.pipeline"
    assert callable(decode_images) and len(IMAGENET_MEAN) == 3


def test_missing_and_unknown_arguments_name_the_class() -> None:
    from streaming.text import StreamingC4
    from streaming.vision import StreamingCIFAR10

    with pytest.raises(TypeError, match=r"^StreamingCIFAR10\(\): missing a required argument: "
                                        r"'batch_size'$"):  # fmt: skip
        StreamingCIFAR10(local="/nonexistent")
    with pytest.raises(TypeError, match=r"^StreamingC4\(\): got an unexpected keyword argument "
                                        r"'tokenizer'$"):  # fmt: skip
        StreamingC4(local="/nonexistent", tokenizer="gpt2", tokenizer_name="gpt2", max_seq_len=8,
                    group_method="truncate")  # fmt: skip
    with pytest.raises(ValueError, match=r"^group_method='concat' must be one of"):
        StreamingC4(local="/nonexistent", tokenizer_name="bytes", max_seq_len=8,
                    group_method="concat")  # fmt: skip


@pytest.mark.parametrize("name", ["StreamingC4", "StreamingPile"])
def test_text_readers_tokenize_as_the_peers_call(tmp_path: Path, name: str) -> None:
    """The peer calls its tokenizer with truncation and padding to max_length; the built-in
    byte tokenizer answers that call the same way (a Hugging Face tokenizer answers it itself,
    but transformers is not installed here, so that path is not exercised)."""
    import streaming.text
    from streaming import MDSWriter

    with MDSWriter(out=str(tmp_path), columns={"text": "str", "url": "str"}) as w:
        for text in ["hi", "abcdefghij", "é"]:
            w.write({"text": text, "url": "u"})
    cls = getattr(streaming.text, name)
    ds = cls(local=str(tmp_path), num_canonical_nodes=1, batch_size=1, tokenizer_name="bytes",
             max_seq_len=5, group_method="truncate")  # fmt: skip
    # bytes b -> b + 3, then eos 2; pad 0
    assert [ds[i] for i in range(3)] == [
        {"input_ids": [107, 108, 2, 0, 0], "attention_mask": [1, 1, 1, 0, 0]},
        {"input_ids": [100, 101, 102, 103, 104], "attention_mask": [1, 1, 1, 1, 1]},
        {"input_ids": [198, 172, 2, 0, 0], "attention_mask": [1, 1, 1, 0, 0]},
    ]
    assert list(ds) == [ds[i] for i in range(3)]


HF_SCRIPT = (
    DUMP
    + r"""
import sys
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast
import streaming.text

data, tok_dir, build = sys.argv[1], sys.argv[2], sys.argv[3] == "build"
if build:  # a local word-level tokenizer without a pad token: both readers pad with eos
    vocab = {w: i for i, w in enumerate(["[UNK]", "</s>", "the", "cat", "sat", "on", "mat"])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", eos_token="</s>"
                            ).save_pretrained(tok_dir)
out = {}
for name in ("StreamingC4", "StreamingPile"):
    cls = getattr(streaming.text, name)
    ds = cls(local=data, tokenizer_name=tok_dir, max_seq_len=4, group_method="truncate",
             batch_size=1, num_canonical_nodes=1, shuffle=True)
    out[name] = dump_dataset(ds)
    out[name + ".tokenizer"] = [type(ds.tokenizer).__name__, ds.tokenizer.pad_token]
print(json.dumps({"file": streaming.__file__, "samples": out}))
"""
)


@pytest.mark.slow
def test_text_readers_with_a_local_tokenizer_match_the_peer(
    tmp_path: Path, mosaic_python: Path
) -> None:
    """A local Hugging Face tokenizer directory as ``tokenizer_name``. transformers is only in
    the peer's venv, so our classes run there too, with our package first on the path."""
    import subprocess

    from streaming import MDSWriter

    with MDSWriter(out=str(tmp_path / "data"), columns={"text": "str"}, size_limit=1 << 8) as w:
        for text in ["the cat sat", "the cat sat on the mat", "dog", "mat on cat the sat the"]:
            w.write({"text": text})
    shutil.copytree(tmp_path / "data", tmp_path / "ours")
    repo = Path(__file__).resolve().parents[2]
    # Our core needs msgspec, which the peer's venv lacks: lend it that one package (same
    # interpreter version), not the rest of .venv, which would shadow the peer's packages.
    import msgspec

    lent = tmp_path / "lent"
    lent.mkdir()
    (lent / "msgspec").symlink_to(Path(msgspec.__file__).parent)
    results = {}
    for who, build in (("peer", "build"), ("ours", "reuse")):
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        if who == "ours":
            env["PYTHONPATH"] = os.pathsep.join([str(repo), str(lent)])
        data = tmp_path / ("data" if who == "peer" else "ours")
        proc = subprocess.run(
            [str(mosaic_python), "-c", HF_SCRIPT, str(data), str(tmp_path / "tok"), build],
            capture_output=True, text=True, cwd="/", env=env, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        results[who] = json.loads(proc.stdout)
    assert results["ours"]["file"] == str(repo / "streaming" / "__init__.py")
    assert results["peer"]["file"] != results["ours"]["file"]
    for name in ("StreamingC4", "StreamingPile"):
        ours, peer = results["ours"]["samples"][name], results["peer"]["samples"][name]
        assert ours == peer
        # eos (1) pads; "dog" is unknown (0); truncated at 4
        assert ours["by_index"][2]["input_ids"] == [0, 1, 1, 1]
        assert ours["by_index"][1]["input_ids"] == [2, 3, 4, 5]
        tokenizer = results["ours"]["samples"][f"{name}.tokenizer"]
        assert tokenizer == results["peer"]["samples"][f"{name}.tokenizer"]
        assert tokenizer == ["PreTrainedTokenizerFast", "</s>"]


def test_vision_transforms_as_the_peers(tmp_path: Path) -> None:
    """``transforms(x, y)``, or ``transform``/``target_transform`` (not both kinds); ADE20K's
    ``joint_transform`` first; and the readers in DataLoader workers."""
    from torch.utils.data import DataLoader

    from streaming.vision import StreamingADE20K, StreamingCIFAR10

    paths = write_all(tmp_path)
    kwargs = {"local": str(paths["cifar10"]), "batch_size": 4, "num_canonical_nodes": 1}
    both = StreamingCIFAR10(**kwargs, transforms=lambda x, y: (x.size, y * 10))
    plain = StreamingCIFAR10(**kwargs)
    assert [both[i] for i in range(3)] == [((8, 8), plain[i][1] * 10) for i in range(3)]
    split = StreamingCIFAR10(**kwargs, transform=lambda x: x.mode, target_transform=str)
    assert split[0] == ("RGB", str(plain[0][1]))
    with pytest.raises(ValueError, match="either transforms or transform/target_transform"):
        StreamingCIFAR10(**kwargs, transforms=lambda x, y: (x, y), transform=str)
    ade = StreamingADE20K(
        local=str(paths["ade20k"]),
        joint_transform=lambda xy: (xy[1], xy[0]),  # swapped, then each its own transform
        transform=lambda y: y.mode,
        target_transform=lambda x: x.mode,
    )
    assert ade[0] == ("L", "RGB")
    loader = DataLoader(plain, batch_size=4, num_workers=2)
    batches = list(loader)
    labels = [int(y) for _, yb in batches for y in yb]
    assert sorted(labels) == sorted(plain[i][1] for i in range(12))
    assert batches[0][0].shape == (4, 3, 8, 8)


def test_outside_dt_fetches_videos_ahead(tmp_path: Path) -> None:
    """While the first sample is in use, the next `predownload` videos are being fetched."""
    import pickle
    import time

    from streaming.multimodal import StreamingOutsideDTWebVid, StreamingOutsideGIWebVid

    paths = write_all(tmp_path)
    kwargs = {"local": str(paths["webvid_outside"]), "extra_remote": str(paths["videos"]),
              "batch_size": 1, "num_canonical_nodes": 1, "predownload": 3}  # fmt: skip
    extra = tmp_path / "extra"
    ds = StreamingOutsideDTWebVid(**kwargs, extra_local=str(extra))
    it = iter(ds)
    first = next(it)
    order = [first["content_path"]]
    deadline = time.monotonic() + 10
    while len(list(extra.rglob("*.mp4"))) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(list(extra.rglob("*.mp4"))) == 4  # the first and the 3 after it, no more yet
    order += [s["content_path"] for s in it]
    gi = StreamingOutsideGIWebVid(**kwargs, extra_local=str(tmp_path / "gi"))
    assert [s["content_path"] for s in gi] == order
    assert [ds[i] for i in range(7)] == [gi[i] for i in range(7)]
    assert pickle.loads(pickle.dumps(ds))[2] == gi[2]
