"""C4, the Pile and EnWiki: raw text files in, fixed-length token ids out."""

from __future__ import annotations

import gzip

import pytest
import torch

from streaming import LocalDataset
from streaming.datasets import StreamingC4, StreamingEnWiki, StreamingPile
from streaming.datasets.convert import RawDataError
from streaming.datasets.text import ByteTokenizer, get_tokenizer
from tests.datasets import _raw
from tests.datasets._support import iterate, run


def token_ids(text: str, length: int) -> list[int]:
    ids = [b + 3 for b in text.encode("utf-8")] + [2]
    return (ids + [0] * length)[:length]


def check_tokens(ds, texts: list[str], length: int) -> None:
    assert ds.num_samples == len(texts)
    for k, text in enumerate(texts):
        item = ds[k]
        assert item["input_ids"].dtype == torch.int64 and item["input_ids"].shape == (length,)
        assert item["input_ids"].tolist() == token_ids(text, length)
        n = min(len(text.encode()) + 1, length)
        assert item["attention_mask"].tolist() == [1] * n + [0] * (length - n)


def test_byte_tokenizer() -> None:
    tok = ByteTokenizer()
    assert tok.encode("aé") == [100, 198, 172, 2]
    assert tok.decode(tok.encode("aé ✓")) == "aé ✓"
    with pytest.raises(TypeError, match="tokenizer must be"):
        get_tokenizer(42)


def test_c4(tmp_path) -> None:
    docs = _raw.c4(tmp_path / "raw")
    report = run("c4", tmp_path / "raw", tmp_path / "out")
    assert {s.split: (s.samples, s.parts) for s in report.splits} == {
        "train": (3, 2),
        "val": (1, 1),
    }
    assert LocalDataset(str(tmp_path / "out" / "train"))[1] == docs["train"][1]
    ds = StreamingC4(local=str(tmp_path / "out" / "train"), batch_size=2, max_seq_len=24)
    check_tokens(ds, [d["text"] for d in docs["train"]], 24)
    assert [item["input_ids"].tolist() for item in iterate(ds)] == [
        token_ids(d["text"], 24) for d in docs["train"]
    ]
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=3)))
    assert batch["input_ids"].shape == (3, 24)


def test_c4_errors_name_file_and_line(tmp_path) -> None:
    _raw.c4(tmp_path / "raw")
    bad = tmp_path / "raw" / "en" / "c4-train.00001-of-01024.json.gz"
    with gzip.open(bad, "wt") as f:
        f.write(
            '{"text": "ok", "timestamp": "t", "url": "u"}\n{"text": "no url", "timestamp": "t"}\n'
        )
    with pytest.raises(RawDataError, match=r"c4-train.00001-of-01024.json.gz', line 2.*'url'"):
        run("c4", tmp_path / "raw", tmp_path / "out")
    bad.write_bytes(b"\x1f\x8b truncated gzip")
    with pytest.raises(RawDataError, match="c4-train.00001-of-01024.json.gz"):
        run("c4", tmp_path / "raw", tmp_path / "out2")


def test_pile(tmp_path) -> None:
    docs = _raw.pile(tmp_path / "raw")
    report = run("pile", tmp_path / "raw", tmp_path / "out")
    assert {s.split: s.samples for s in report.splits} == {"train": 3, "val": 1, "test": 1}
    rows = LocalDataset(str(tmp_path / "out" / "train"))
    assert [r["pile_set_name"] for r in rows] == ["Pile-CC", "Github", "ArXiv"]
    ds = StreamingPile(local=str(tmp_path / "out" / "train"), batch_size=1, max_seq_len=8)
    check_tokens(ds, [d["text"] for d in docs["train"]], 8)
    (tmp_path / "raw" / "val.jsonl.zst").unlink()
    _raw.zst_lines(tmp_path / "raw" / "val.jsonl.zst", [{"text": "no meta"}])
    with pytest.raises(RawDataError, match=r"val.jsonl.zst', line 1.*'meta'"):
        run("pile", tmp_path / "raw", tmp_path / "out2")


def test_enwiki(tmp_path) -> None:
    articles = _raw.enwiki(tmp_path / "raw")
    report = run("enwiki", tmp_path / "raw", tmp_path / "out")
    assert [(s.split, s.samples, s.skipped) for s in report.splits] == [("train", 4, 1)]
    rows = list(LocalDataset(str(tmp_path / "out" / "train")))
    assert [{k: r[k] for k in ("id", "title", "text")} for r in rows] == articles
    assert rows[0]["url"] == "https://en.wikipedia.org/wiki?curid=12"
    ds = StreamingEnWiki(local=str(tmp_path / "out" / "train"), batch_size=1, max_seq_len=64)
    check_tokens(ds, [a["text"] for a in articles], 64)


def test_enwiki_val_fraction_splits_by_id(tmp_path) -> None:
    _raw.enwiki(tmp_path / "raw")
    report = run("enwiki", tmp_path / "raw", tmp_path / "out", {"val_fraction": 0.5})
    counts = {s.split: s.samples for s in report.splits}
    assert counts["train"] + counts["val"] == 4 and counts["val"] > 0
    ids = {s: {r["id"] for r in LocalDataset(str(tmp_path / "out" / s))} for s in counts}
    assert not ids["train"] & ids["val"]


def test_enwiki_unclosed_doc(tmp_path) -> None:
    _raw.enwiki(tmp_path / "raw")
    _raw.write(tmp_path / "raw" / "AB" / "wiki_01", '<doc id="1" url="u" title="T">\nT\ntext\n')
    with pytest.raises(RawDataError, match=r"AB/wiki_01.*never closed"):
        run("enwiki", tmp_path / "raw", tmp_path / "out")
